/**
 * The composition root: picks adapters for a Config and wires the core and transport. `main.ts` runs it;
 * tests call it directly with their own Config.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pino from 'pino';
import type { FastifyInstance } from 'fastify';
import type { Config } from './config.js';
import { AccountService } from './core/accounts.js';
import { ChatService } from './core/chat.js';
import type { CoreDeps, Logger } from './core/deps.js';
import { Hub } from './core/hub.js';
import type { Broker, PasswordHasher, Presence, Store } from './core/ports.js';
import { RoomService } from './core/rooms.js';
import { Argon2Hasher } from './adapters/auth/argon2-hasher.js';
import { RandomIds, RandomOpaqueTokens } from './adapters/auth/crypto-ids.js';
import { JwtAccessTokens } from './adapters/auth/jwt-access-tokens.js';
import { MemoryBroker } from './adapters/memory/memory-broker.js';
import { MemoryPresence } from './adapters/memory/memory-presence.js';
import { openSqlStore } from './adapters/sql/sql-database.js';
import { connectRedis } from './adapters/redis/redis-connection.js';
import { RedisBroker } from './adapters/redis/redis-broker.js';
import { RedisPresence } from './adapters/redis/redis-presence.js';
import { buildApp } from './transport/http/app.js';

export interface Natter {
  app: FastifyInstance;
  store: Store;
  broker: Broker;
  instanceId: string;
  chat: ChatService;
  hub: Hub;
  /** Stops accepting, closes sockets (1001), then the broker, presence and database. Idempotent. */
  close(): Promise<void>;
}

export interface NatterOverrides {
  logger?: pino.Logger;
  hasher?: PasswordHasher;
  broker?: Broker;
  presence?: Presence;
}

export const VERSION: string = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;

/** A configured secret, or (development only) one generated once and kept in DATA_DIR with mode 0600. */
function jwtSecret(config: Config): Uint8Array {
  if (config.jwtSecret !== null) return new TextEncoder().encode(config.jwtSecret);
  const file = join(config.dataDir, 'jwt-secret');
  if (!existsSync(file)) {
    mkdirSync(config.dataDir, { recursive: true });
    writeFileSync(file, randomBytes(48).toString('base64url'), { mode: 0o600 });
    chmodSync(file, 0o600);
  }
  return new TextEncoder().encode(readFileSync(file, 'utf8').trim());
}

export function createLogger(config: Config): pino.Logger {
  return pino({
    level: config.logLevel,
    redact: { paths: ['req.headers.authorization', '*.password', '*.token', '*.refresh_token', '*.access_token'], censor: '[redacted]' },
  });
}

export async function createNatter(config: Config, overrides: NatterOverrides = {}): Promise<Natter> {
  const logger = overrides.logger ?? createLogger(config);
  const log: Logger = logger;
  const clock = { now: () => Date.now() };
  const instanceId = config.instanceId ?? randomBytes(6).toString('base64url');
  const store = await openSqlStore({ url: config.databaseUrl, log });
  const { broker, presence, closeFanOut } = await pickFanOut(config, overrides, log, instanceId);
  const deps: CoreDeps = {
    store,
    broker,
    presence,
    clock,
    ids: new RandomIds(),
    hasher: overrides.hasher ?? new Argon2Hasher(),
    accessTokens: new JwtAccessTokens({
      secret: jwtSecret(config),
      issuer: config.jwtIssuer,
      audience: config.jwtAudience,
      ttlSeconds: config.accessTokenTtlSeconds,
      clock,
    }),
    opaqueTokens: new RandomOpaqueTokens(),
    limits: {
      maxBodyChars: config.maxBodyChars,
      historyOnJoin: config.historyOnJoin,
      catchUpPage: 200,
      refreshTokenTtlSeconds: config.refreshTokenTtlSeconds,
    },
    log,
  };
  const hub = new Hub({ broker, store, log, pageSize: deps.limits.catchUpPage });
  broker.onEnvelope((envelope) => hub.dispatch(envelope));
  const rooms = new RoomService(deps);
  const chat = new ChatService(deps, rooms, hub);
  const maintenance = startMaintenance(chat, config.maintenanceIntervalMs, log);
  broker.onRestored(() => maintenance.runNow());
  const accounts = new AccountService(deps);
  const app = await buildApp({
    accounts,
    rooms,
    chat,
    accessTokens: deps.accessTokens,
    store,
    broker,
    logger,
    version: VERSION,
    ws: { authTimeoutMs: config.authTimeoutMs, heartbeatIntervalMs: config.heartbeatIntervalMs, heartbeatTimeoutMs: config.heartbeatTimeoutMs },
  });

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      await app.close();
      maintenance.stop();
      await closeFanOut();
      await store.close();
    })());
  return { app, store, chat, hub, broker, instanceId, close };
}

/** The in-process broker and presence by default; Redis (single server or cluster) when REDIS_URL is set. */
async function pickFanOut(config: Config, overrides: NatterOverrides, log: Logger, instanceId: string) {
  if (overrides.broker || overrides.presence || config.redisUrl === null) {
    const broker = overrides.broker ?? new MemoryBroker();
    const presence = overrides.presence ?? new MemoryPresence();
    return { broker, presence, closeFanOut: async () => void (await Promise.all([broker.close(), presence.close()])) };
  }
  const redis = await connectRedis({ url: config.redisUrl, cluster: config.redisCluster, log });
  const broker = await RedisBroker.start(redis, config.redisPrefix, log, instanceId);
  const presence = new RedisPresence(redis, { prefix: config.redisPrefix, instanceId, leaseMs: config.presenceLeaseMs, log });
  return {
    broker,
    presence,
    closeFanOut: async () => {
      await presence.close();
      await broker.close(); // quits the shared connections
    },
  };
}

/** Runs chat.maintain() every `intervalMs`, never two at once; `runNow` for when the broker comes back. */
function startMaintenance(chat: ChatService, intervalMs: number, log: Logger) {
  let running: Promise<void> | undefined;
  const run = () => {
    running ??= chat
      .maintain()
      .catch((err: unknown) => log.error({ err }, 'maintenance failed'))
      .finally(() => (running = undefined));
  };
  const timer = setInterval(run, intervalMs);
  timer.unref();
  return { runNow: run, stop: () => clearInterval(timer) };
}
