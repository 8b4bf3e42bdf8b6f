/**
 * The only reader of the environment. Values come from process.env, then an optional `.env` file (the
 * environment wins). Every problem is collected and reported at once; the result is frozen.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseEnv } from 'node:util';

export interface Config {
  env: 'development' | 'production' | 'test';
  host: string;
  port: number;
  dataDir: string;
  databaseUrl: string;
  /** A SQLite file: appends commit on a writer thread (false: on the event loop). */
  sqliteWriterThread: boolean;
  /** A SQLite file on the writer thread: the WAL is checkpointed on a thread of its own. */
  sqliteCheckpointThread: boolean;
  /** Least ms between group commits (sql-message-store.ts). */
  commitIntervalMs: number;
  /** V8's old generation may grow to this many times its live size between full GCs; 0: V8's own (src/heap-growth.ts). */
  heapGrowth: number;
  /** null: no secret configured (development only) — main.ts generates and keeps one under dataDir. */
  jwtSecret: string | null;
  jwtIssuer: string;
  jwtAudience: string;
  accessTokenTtlSeconds: number;
  refreshTokenTtlSeconds: number;
  maxBodyChars: number;
  historyOnJoin: number;
  authTimeoutMs: number;
  heartbeatIntervalMs: number;
  heartbeatTimeoutMs: number;
  /** null: the in-process broker and presence (one instance). */
  redisUrl: string | null;
  redisCluster: boolean;
  redisPrefix: string;
  instanceId: string | null;
  presenceLeaseMs: number;
  maintenanceIntervalMs: number;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  security: SecurityConfig;
  /** auto: human-readable when stdout is a terminal, JSON otherwise. */
  logFormat: 'auto' | 'json' | 'pretty';
  /** Hard limit for a graceful shutdown (SIGTERM/SIGINT); the process exits with 1 when it is exceeded. */
  shutdownTimeoutMs: number;
  /** Window over which connected clients are told to reconnect elsewhere, in jittered batches. */
  shutdownDrainMs: number;
  /** null: /metrics needs no token. */
  metricsToken: string | null;
  /** null: /metrics is served on PORT; otherwise only on this port (0: any free port). */
  metricsPort: number | null;
  metricsHost: string;
}

/** Defences against hostile clients (docs/security.md). */
export interface SecurityConfig {
  /** WebSocket Origins allowed besides the same origin (exact scheme://host[:port]). */
  allowedOrigins: string[];
  /** Origins allowed by CORS on the HTTP API; empty: CORS closed (no Access-Control-* headers). */
  corsOrigins: string[];
  /** Behind a reverse proxy: the client address is the last X-Forwarded-For hop. */
  trustProxy: boolean;
  maxConnectionsPerIp: number;
  maxConnectionsPerUser: number;
  connectBurst: number;
  connectsPerSecond: number;
  maxRoomsPerConnection: number;
  maxViolationsPerMinute: number;
  /** Leased from the shared bucket when Redis is configured (RateRule.lease). */
  messageRate: { capacity: number; perSecond: number; lease: true };
  typingRate: { capacity: number; perSecond: number; lease: true };
  /** HTTP /api/auth/* requests per client address. */
  authRate: { capacity: number; perSecond: number };
  /** Failed logins per account and per address before throttling (refilled over 15 minutes). */
  loginFailures: number;
  tokenRefreshLeadMs: number;
  tokenExpiryGraceMs: number;
  /** Bearer token of the admin API (POST /api/admin/...); null: the admin API is off. */
  adminToken: string | null;
  /** External identity provider (EdDSA / RS256 via JWKS); null: natter's own HS256 tokens only. */
  jwks: { url: string; issuer: string; algorithms: Array<'EdDSA' | 'RS256'> } | null;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

/** Merges a `.env` file (if present) under the given environment. */
export function readEnv(env: Env = process.env, file = resolve('.env')): Env {
  if (!existsSync(file)) return { ...env };
  const fromFile = parseEnv(readFileSync(file, 'utf8')) as Env;
  return { ...fromFile, ...env };
}

export function loadConfig(env: Env = readEnv()): Config {
  const problems: string[] = [];
  const str = (name: string, fallback: string) => {
    const v = env[name];
    return v === undefined || v === '' ? fallback : v;
  };
  const int = (name: string, fallback: number, min: number, max: number) => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max) {
      problems.push(`${name} must be an integer from ${min} to ${max} (got "${raw}")`);
      return fallback;
    }
    return n;
  };
  const oneOf = <T extends string>(name: string, fallback: T, allowed: readonly T[]): T => {
    const v = str(name, fallback);
    if (!allowed.includes(v as T)) problems.push(`${name} must be one of ${allowed.join(', ')} (got "${v}")`);
    return v as T;
  };

  const nodeEnv = oneOf('NODE_ENV', 'development', ['development', 'production', 'test'] as const);
  const dataDir = resolve(str('DATA_DIR', './data'));
  const databaseUrl = str('DATABASE_URL', `sqlite:${join(dataDir, 'natter.db')}`);
  if (!/^(sqlite:|postgres(ql)?:\/\/)/.test(databaseUrl)) {
    problems.push('DATABASE_URL must start with sqlite: or postgres:// (e.g. sqlite:./data/natter.db)');
  }
  const jwtSecret = env.JWT_SECRET === undefined || env.JWT_SECRET === '' ? null : env.JWT_SECRET;
  if (jwtSecret !== null && Buffer.byteLength(jwtSecret) < 32) {
    problems.push('JWT_SECRET must be at least 32 bytes (256 bits); generate one with: openssl rand -base64 48');
  }
  if (jwtSecret === null && nodeEnv === 'production') {
    problems.push('JWT_SECRET is required when NODE_ENV=production');
  }
  const heartbeatIntervalMs = int('HEARTBEAT_INTERVAL_MS', 25_000, 1_000, 600_000);
  const heapGrowth = int('HEAP_GROWTH', 8, 0, 32);
  if (heapGrowth === 1) problems.push('HEAP_GROWTH must be 0 (V8 decides) or a factor from 2 to 32 (got "1")');
  if (env.REDIS_URL && !env.REDIS_URL.split(',').every((u) => /^rediss?:\/\//.test(u.trim()))) {
    problems.push('REDIS_URL must be redis://host:port (for a cluster: comma-separated seed nodes with REDIS_CLUSTER=true)');
  }
  if (env.REDIS_CLUSTER === 'true' && !env.REDIS_URL) problems.push('REDIS_CLUSTER=true needs REDIS_URL');
  const shutdownTimeoutMs = int('SHUTDOWN_TIMEOUT_MS', 30_000, 1_000, 600_000);
  const shutdownDrainMs = int('SHUTDOWN_DRAIN_MS', 5_000, 0, 600_000);
  if (shutdownDrainMs > shutdownTimeoutMs / 2) problems.push('SHUTDOWN_DRAIN_MS must be at most half of SHUTDOWN_TIMEOUT_MS');
  const metricsToken = env.METRICS_TOKEN ? env.METRICS_TOKEN : null;
  if (metricsToken !== null && metricsToken.length < 16) problems.push('METRICS_TOKEN must be at least 16 characters');

  const list = (name: string) => str(name, '').split(',').map((v) => v.trim()).filter(Boolean);
  const allowedOrigins = list('ALLOWED_ORIGINS');
  for (const origin of [...allowedOrigins, ...list('CORS_ORIGINS')]) {
    if (origin !== '*' && !/^https?:\/\/[^/\s]+$/.test(origin)) problems.push(`origin "${origin}" must be scheme://host[:port] with no path`);
  }
  const adminToken = env.ADMIN_TOKEN ? env.ADMIN_TOKEN : null;
  if (adminToken !== null && Buffer.byteLength(adminToken) < 32) problems.push('ADMIN_TOKEN must be at least 32 bytes');
  const jwksAlgorithms = list('JWT_JWKS_ALGORITHMS');
  const algorithms = (jwksAlgorithms.length > 0 ? jwksAlgorithms : ['EdDSA', 'RS256']) as Array<'EdDSA' | 'RS256'>;
  if (!algorithms.every((a) => a === 'EdDSA' || a === 'RS256')) problems.push('JWT_JWKS_ALGORITHMS may list only EdDSA and RS256');
  if (env.JWT_JWKS_URL && !env.JWT_JWKS_ISSUER) problems.push('JWT_JWKS_URL needs JWT_JWKS_ISSUER (the identity provider\'s iss)');
  if (env.JWT_JWKS_URL && !/^https?:\/\//.test(env.JWT_JWKS_URL)) problems.push('JWT_JWKS_URL must be an http(s) URL');
  const security: SecurityConfig = {
    allowedOrigins,
    corsOrigins: list('CORS_ORIGINS'),
    trustProxy: oneOf('TRUST_PROXY', 'false', ['true', 'false'] as const) === 'true',
    maxConnectionsPerIp: int('WS_MAX_CONNECTIONS_PER_IP', 200, 1, 1_000_000),
    maxConnectionsPerUser: int('WS_MAX_CONNECTIONS_PER_USER', 20, 1, 100_000),
    connectBurst: int('WS_CONNECT_BURST', 20, 1, 1_000_000),
    connectsPerSecond: int('WS_CONNECTS_PER_SECOND', 10, 1, 1_000_000),
    maxRoomsPerConnection: int('MAX_ROOMS_PER_CONNECTION', 128, 1, 128),
    maxViolationsPerMinute: int('WS_MAX_VIOLATIONS_PER_MINUTE', 20, 0, 10_000),
    messageRate: { capacity: int('MESSAGE_RATE_BURST', 30, 1, 1_000_000), perSecond: int('MESSAGE_RATE_PER_SECOND', 10, 1, 1_000_000), lease: true },
    typingRate: { capacity: int('TYPING_RATE_BURST', 10, 1, 1_000_000), perSecond: int('TYPING_RATE_PER_SECOND', 2, 1, 1_000_000), lease: true },
    authRate: { capacity: int('AUTH_RATE_BURST', 30, 1, 1_000_000), perSecond: int('AUTH_RATE_PER_SECOND', 1, 1, 1_000_000) },
    loginFailures: int('LOGIN_FAILURES', 10, 1, 1_000_000),
    tokenRefreshLeadMs: int('TOKEN_REFRESH_LEAD_MS', 60_000, 100, 3_600_000),
    tokenExpiryGraceMs: int('TOKEN_EXPIRY_GRACE_MS', 10_000, 0, 300_000),
    adminToken,
    jwks: env.JWT_JWKS_URL ? { url: env.JWT_JWKS_URL, issuer: env.JWT_JWKS_ISSUER ?? '', algorithms } : null,
  };

  const config: Config = {
    env: nodeEnv,
    host: str('HOST', '0.0.0.0'),
    port: int('PORT', 8080, 0, 65_535),
    dataDir,
    databaseUrl,
    sqliteWriterThread: oneOf('SQLITE_WRITER_THREAD', 'true', ['true', 'false'] as const) === 'true',
    sqliteCheckpointThread: oneOf('SQLITE_CHECKPOINT_THREAD', 'true', ['true', 'false'] as const) === 'true',
    commitIntervalMs: int('COMMIT_INTERVAL_MS', 0, 0, 100),
    heapGrowth,
    jwtSecret,
    jwtIssuer: str('JWT_ISSUER', 'natter'),
    jwtAudience: str('JWT_AUDIENCE', 'natter'),
    accessTokenTtlSeconds: int('ACCESS_TOKEN_TTL_SECONDS', 900, 30, 86_400),
    refreshTokenTtlSeconds: int('REFRESH_TOKEN_TTL_SECONDS', 30 * 86_400, 60, 365 * 86_400),
    maxBodyChars: int('MESSAGE_MAX_CHARS', 4_000, 1, 10_000),
    historyOnJoin: int('HISTORY_ON_JOIN', 50, 0, 200),
    authTimeoutMs: int('AUTH_TIMEOUT_MS', 10_000, 100, 60_000),
    heartbeatIntervalMs,
    heartbeatTimeoutMs: int('HEARTBEAT_TIMEOUT_MS', 10_000, 500, 600_000),
    redisUrl: env.REDIS_URL ? env.REDIS_URL : null,
    redisCluster: oneOf('REDIS_CLUSTER', 'false', ['true', 'false'] as const) === 'true',
    redisPrefix: str('REDIS_PREFIX', 'natter:'),
    instanceId: env.INSTANCE_ID ? env.INSTANCE_ID : null,
    presenceLeaseMs: int('PRESENCE_LEASE_MS', 15_000, 1_000, 300_000),
    maintenanceIntervalMs: int('MAINTENANCE_INTERVAL_MS', 1_000, 100, 60_000),
    logLevel: oneOf('LOG_LEVEL', 'info', ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const),
    security,
    logFormat: oneOf('LOG_FORMAT', 'auto', ['auto', 'json', 'pretty'] as const),
    shutdownTimeoutMs,
    shutdownDrainMs,
    metricsToken,
    metricsPort: env.METRICS_PORT ? int('METRICS_PORT', 9090, 0, 65_535) : null,
    metricsHost: str('METRICS_HOST', '127.0.0.1'),
  };
  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze(config);
}
