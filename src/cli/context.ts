/**
 * What the CLI's commands work with: the configured database (migrated), and the core services over it. The broker
 * is Redis when REDIS_URL is set (so `user revoke` reaches every running instance), else an in-process one.
 */
import { randomBytes } from 'node:crypto';
import type { Config } from '../config.js';
import { AccountService } from '../core/accounts.js';
import type { CoreDeps, Logger } from '../core/deps.js';
import type { Broker, Store } from '../core/ports.js';
import { RoomService } from '../core/rooms.js';
import { Argon2Hasher } from '../adapters/auth/argon2-hasher.js';
import { SortableIds, RandomOpaqueTokens } from '../adapters/auth/crypto-ids.js';
import { JwtAccessTokens } from '../adapters/auth/jwt-access-tokens.js';
import { MemoryBroker } from '../adapters/memory/memory-broker.js';
import { MemoryPresence } from '../adapters/memory/memory-presence.js';
import { MemoryRateLimiter } from '../adapters/memory/memory-rate-limiter.js';
import { connectRedis } from '../adapters/redis/redis-connection.js';
import { RedisBroker } from '../adapters/redis/redis-broker.js';
import { openSqlStore } from '../adapters/sql/sql-database.js';
import { jwtSecret } from '../jwt-secret.js';
import { limitsFrom } from '../natter.js';

export interface CliContext {
  config: Config;
  store: Store;
  broker: Broker;
  /** True when the broker reaches other instances (Redis). */
  sharedBroker: boolean;
  deps: CoreDeps;
  accounts: AccountService;
  rooms: RoomService;
  /** Access tokens with a lifetime of `ttlSeconds` (same secret, issuer and audience as the server). */
  tokens(ttlSeconds: number): JwtAccessTokens;
  close(): Promise<void>;
}

export async function openContext(config: Config, log: Logger): Promise<CliContext> {
  const store = await openSqlStore({ url: config.databaseUrl, log });
  let broker: Broker;
  try {
    broker =
      config.redisUrl === null
        ? new MemoryBroker()
        : await RedisBroker.start(await connectRedis({ url: config.redisUrl, cluster: config.redisCluster, log }), config.redisPrefix, log, `cli-${randomBytes(4).toString('hex')}`);
  } catch (err) {
    await store.close();
    throw err;
  }
  const clock = { now: () => Date.now() };
  const secret = jwtSecret(config);
  const tokens = (ttlSeconds: number) => new JwtAccessTokens({ secret, issuer: config.jwtIssuer, audience: config.jwtAudience, ttlSeconds, clock });
  const rateLimiter = new MemoryRateLimiter();
  const deps: CoreDeps = {
    store,
    broker,
    presence: new MemoryPresence(), // no CLI command touches presence
    clock,
    ids: new SortableIds(),
    hasher: new Argon2Hasher(),
    accessTokens: tokens(config.accessTokenTtlSeconds),
    opaqueTokens: new RandomOpaqueTokens(),
    rateLimiter,
    limits: limitsFrom(config),
    log,
  };
  return {
    config,
    store,
    broker,
    sharedBroker: config.redisUrl !== null,
    deps,
    accounts: new AccountService(deps),
    rooms: new RoomService(deps),
    tokens,
    async close() {
      await rateLimiter.close();
      await broker.close();
      await store.close();
    },
  };
}
