/**
 * The composition root: picks adapters for a Config and wires the core and transport. `main.ts` runs it;
 * tests call it directly with their own Config.
 */
import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import type pino from 'pino';
import type { FastifyInstance } from 'fastify';
import type { Config } from './config.js';
import { AccountService } from './core/accounts.js';
import { ChatService } from './core/chat.js';
import type { CoreDeps, Limits, Logger } from './core/deps.js';
import { Hub } from './core/hub.js';
import type { Metrics } from './core/metrics.js';
import type { AccessTokens, Broker, PasswordHasher, Presence, Store } from './core/ports.js';
import { RoomService } from './core/rooms.js';
import { Argon2Hasher } from './adapters/auth/argon2-hasher.js';
import { SortableIds, RandomOpaqueTokens } from './adapters/auth/crypto-ids.js';
import { JwtAccessTokens } from './adapters/auth/jwt-access-tokens.js';
import { MemoryBroker } from './adapters/memory/memory-broker.js';
import { MemoryPresence } from './adapters/memory/memory-presence.js';
import { MemoryRateLimiter } from './adapters/memory/memory-rate-limiter.js';
import { RedisRateLimiter } from './adapters/redis/redis-rate-limiter.js';
import { openSqlStore } from './adapters/sql/sql-database.js';
import { connectRedis } from './adapters/redis/redis-connection.js';
import { RedisBroker } from './adapters/redis/redis-broker.js';
import { RedisPresence } from './adapters/redis/redis-presence.js';
import { buildApp } from './transport/http/app.js';
import { startMetricsServer, type MetricsServer } from './transport/http/metrics-server.js';
import { PromMetrics } from './adapters/metrics/prom-metrics.js';
import { instrumentBroker } from './adapters/metrics/instrumented-broker.js';
import { createLogger } from './logger.js';
import { jwtSecret } from './jwt-secret.js';

export { createLogger } from './logger.js';
export { jwtSecret } from './jwt-secret.js';

/** How long `close()` lets running HTTP requests finish before it cuts their connections. */
const HTTP_CLOSE_GRACE_MS = 2_000;

export interface Natter {
  app: FastifyInstance;
  store: Store;
  broker: Broker;
  instanceId: string;
  chat: ChatService;
  hub: Hub;
  metrics: PromMetrics;
  /** The separate metrics listener's address (METRICS_PORT), else null. */
  metricsAddress: string | null;
  /** True once shutdown began (/readyz answers 503, upgrades are refused). */
  readonly draining: boolean;
  /**
   * Graceful shutdown: not ready, upgrades refused (503), clients told to reconnect elsewhere over `drainMs`
   * (SERVER_DRAINING, jittered batches), then `close()`. Idempotent.
   */
  shutdown(drainMs?: number): Promise<void>;
  /** Stops accepting, closes sockets (1001), lets in-flight sends finish, then closes broker, presence, database. Idempotent. */
  close(): Promise<void>;
}

export interface NatterOverrides {
  logger?: pino.Logger;
  hasher?: PasswordHasher;
  broker?: Broker;
  presence?: Presence;
  metrics?: PromMetrics;
}

/** Failed logins are counted over this window (the bucket refills completely in it). */
const LOGIN_WINDOW_S = 15 * 60;

/** The core's limits, from the configuration (shared with the CLI's context). */
export function limitsFrom(config: Config): Limits {
  return {
    maxBodyChars: config.maxBodyChars,
    historyOnJoin: config.historyOnJoin,
    catchUpPage: 200,
    refreshTokenTtlSeconds: config.refreshTokenTtlSeconds,
    maxRoomsPerSession: config.security.maxRoomsPerConnection,
    messageRate: config.security.messageRate,
    typingRate: config.security.typingRate,
    loginFailureRate: { capacity: config.security.loginFailures, perSecond: config.security.loginFailures / LOGIN_WINDOW_S },
  };
}

export const VERSION: string = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;


export async function createNatter(config: Config, overrides: NatterOverrides = {}): Promise<Natter> {
  const logger = overrides.logger ?? createLogger(config);
  const log: Logger = logger;
  const clock = { now: () => Date.now() };
  const instanceId = config.instanceId ?? randomBytes(6).toString('base64url');
  const metrics = overrides.metrics ?? new PromMetrics();
  const lifecycle = { draining: false };
  const store = await openSqlStore({
    url: config.databaseUrl,
    log,
    metrics,
    appends: { writerThread: config.sqliteWriterThread, checkpointerThread: config.sqliteCheckpointThread, commitIntervalMs: config.commitIntervalMs },
  });
  const fanOut = await pickFanOut(config, overrides, log, instanceId);
  const { presence, closeFanOut } = fanOut;
  const broker = instrumentBroker(fanOut.broker, metrics);
  observeBroker(fanOut.broker, metrics);
  const deps: CoreDeps = {
    store,
    broker,
    presence,
    clock,
    ids: new SortableIds(),
    hasher: overrides.hasher ?? new Argon2Hasher(),
    accessTokens: new JwtAccessTokens({
      secret: jwtSecret(config),
      issuer: config.jwtIssuer,
      audience: config.jwtAudience,
      ttlSeconds: config.accessTokenTtlSeconds,
      clock,
      ...(config.security.jwks ? { jwks: config.security.jwks } : {}),
    }),
    opaqueTokens: new RandomOpaqueTokens(),
    rateLimiter: fanOut.rateLimiter,
    limits: limitsFrom(config),
    log,
    metrics,
  };
  const hub = new Hub({ broker, store, log, pageSize: deps.limits.catchUpPage, metrics, now: clock.now });
  broker.onEnvelope((envelope) => hub.dispatch(envelope));
  const rooms = new RoomService(deps);
  const chat = new ChatService(deps, rooms, hub);
  broker.onControl((event) => chat.handleControl(event));
  const maintenance = startMaintenance(chat, config.maintenanceIntervalMs, log);
  broker.onRestored(() => maintenance.runNow());
  const accounts = new AccountService(deps);
  // The edges see access tokens through the account service: signature and expiry, and not revoked since.
  const checkedTokens: AccessTokens = { issue: (p) => deps.accessTokens.issue(p), verify: (t) => accounts.authenticate(t) };
  const app = await buildApp({
    accounts,
    rooms,
    chat,
    accessTokens: checkedTokens,
    security: { config: config.security, rateLimiter: fanOut.rateLimiter },
    store,
    broker,
    logger,
    version: VERSION,
    metrics,
    lifecycle,
    metricsEndpoint: config.metricsPort === null ? { source: metrics, token: config.metricsToken } : undefined,
    ws: { authTimeoutMs: config.authTimeoutMs, heartbeatIntervalMs: config.heartbeatIntervalMs, heartbeatTimeoutMs: config.heartbeatTimeoutMs },
  });

  metrics.gauge('connections', () => app.wsConnectionCount());
  metrics.gauge('sessions', () => chat.sessionCount);
  metrics.gauge('authenticatedUsers', () => chat.userCount);
  metrics.gauge('localRooms', () => hub.roomCount);
  metrics.gauge('draining', () => (lifecycle.draining ? 1 : 0));
  let metricsServer: MetricsServer | null = null;
  if (config.metricsPort !== null) {
    metricsServer = await startMetricsServer({ host: config.metricsHost, port: config.metricsPort, token: config.metricsToken, source: metrics });
  }

  // Reverse order of construction: transport (sockets, listener), then in-flight sends, upkeep, fan-out, database.
  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      lifecycle.draining = true;
      // HTTP requests still running get HTTP_CLOSE_GRACE_MS to finish; then their keep-alive connections are cut,
      // so a client that keeps one open (a refresh answered after close began) cannot hold the shutdown.
      const cut = setTimeout(() => app.server.closeAllConnections(), HTTP_CLOSE_GRACE_MS);
      try {
        await app.close();
      } finally {
        clearTimeout(cut);
      }
      await settle(chat, 5_000, log);
      maintenance.stop();
      await closeFanOut();
      await store.close();
      await metricsServer?.close();
    })());
  let shuttingDown: Promise<void> | undefined;
  const shutdown = (drainMs = config.shutdownDrainMs) =>
    (shuttingDown ??= (async () => {
      lifecycle.draining = true;
      log.info({ connections: app.wsConnectionCount(), drainMs }, 'shutdown: not ready, refusing upgrades');
      await app.wsDrain(drainMs);
      await close();
      log.info({}, 'shutdown: adapters closed');
    })());
  return {
    app,
    store,
    chat,
    hub,
    broker,
    instanceId,
    metrics,
    metricsAddress: metricsServer?.address ?? null,
    get draining() {
      return lifecycle.draining;
    },
    shutdown,
    close,
  };
}

/** Waits for sends between arrival and ack to finish (bounded: a wedged database must not block the exit). */
async function settle(chat: ChatService, timeoutMs: number, log: Logger): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), timeoutMs)));
  const late = await Promise.race([chat.settled().then(() => false), timedOut]);
  clearTimeout(timer);
  if (late) log.warn({ timeoutMs }, 'shutdown: sends still in flight; closing anyway (their clients retry)');
}

/** Gauges the broker adapter keeps itself (Redis: envelopes that failed validation). */
function observeBroker(broker: Broker, metrics: Metrics): void {
  const stats = (broker as { stats?: { malformed?: unknown } }).stats;
  if (stats && typeof stats.malformed === 'number') metrics.gauge('brokerMalformed', () => (stats.malformed as number) ?? 0);
}

/** The in-process broker and presence by default; Redis (single server or cluster) when REDIS_URL is set. */
async function pickFanOut(config: Config, overrides: NatterOverrides, log: Logger, instanceId: string) {
  if (overrides.broker || overrides.presence || config.redisUrl === null) {
    const broker = overrides.broker ?? new MemoryBroker();
    const presence = overrides.presence ?? new MemoryPresence();
    const rateLimiter = new MemoryRateLimiter();
    return { broker, presence, rateLimiter, closeFanOut: async () => void (await Promise.all([broker.close(), presence.close(), rateLimiter.close()])) };
  }
  const redis = await connectRedis({ url: config.redisUrl, cluster: config.redisCluster, log });
  const broker = await RedisBroker.start(redis, config.redisPrefix, log, instanceId);
  const presence = new RedisPresence(redis, { prefix: config.redisPrefix, instanceId, leaseMs: config.presenceLeaseMs, log });
  const rateLimiter = new RedisRateLimiter(redis, config.redisPrefix, log);
  return {
    broker,
    presence,
    rateLimiter,
    closeFanOut: async () => {
      await rateLimiter.close();
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
