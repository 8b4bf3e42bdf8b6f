/**
 * The servers a workload runs against, each started fresh as a child process pinned to CPU 0 when `taskset` exists:
 *   floor            raw `ws` relay, one write per delivery          (bench/servers/floor.ts)
 *   floor-coalesced  the same, writes coalesced per socket per turn  (bench/servers/floor.ts --coalesce)
 *   floor-persist    the unbatched floor that first commits each message to SQLite (floor.ts --persist FILE)
 *   socketio         Socket.IO 4 + @socket.io/redis-adapter, JWT at the handshake (bench/servers/socketio.ts)
 *   natter           natter on the embedded defaults (SQLite file, in-process broker)
 *   natter-pg        natter on PostgreSQL with the in-process broker (the core issue's single node, no Redis)
 *   natter-rpg       natter with Redis + PostgreSQL
 *   natter-rpg-2     two natter instances on Redis + PostgreSQL: senders on the first, receivers on the second (W5)
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { SignJWT } from 'jose';
import pg from 'pg';
import { createClient } from 'redis';
import { EVENT_LOOP_SAMPLE_MS } from '../src/adapters/metrics/prom-metrics.js';
import { startNatterProcess, type NatterProcess } from '../test/support/process.js';
import type { Proto } from './types.js';

export const TARGETS = ['floor', 'floor-coalesced', 'floor-persist', 'socketio', 'natter', 'natter-pg', 'natter-rpg', 'natter-rpg-2'] as const;
export type TargetName = (typeof TARGETS)[number];

export interface TargetOptions {
  redisUrl: string;
  pgAdminUrl: string;
  /** Extra node arguments for natter (e.g. --cpu-prof --cpu-prof-dir=bench-results/prof). */
  nodeArgs: string[];
  /** natter from the build (dist/main.js, as `npm start` runs it; the bench builds it first) or from src/ through tsx. */
  entry: 'dist' | 'src';
  users: number;
  pin: boolean;
}

export interface RunningTarget {
  name: TargetName;
  proto: Proto;
  /** Server processes whose CPU and memory are measured. */
  pids: number[];
  senderUrl: string;
  receiverUrl: string;
  tokens: string[];
  /** Creates n rooms (natter: public rooms through the HTTP API) and returns their ids. */
  createRooms(n: number): Promise<string[]>;
  /** Target-specific figures after a measurement (W5: Redis subscribers per room channel). */
  extra?(rooms: string[]): Promise<Record<string, unknown>>;
  /** natter: its commit counters, ack and commit histograms and event-loop delay so far (from /metrics). */
  serverCounters?(): Promise<ServerCounters>;
  stop(): Promise<void>;
}

const JWT_SECRET = 'bench-secret-bench-secret-bench-secret-0123';
const PASSWORD = 'benchmark password 123';
/** natter's abuse limits, opened wide: the bench measures the message path, not the limiters. */
const OPEN_LIMITS: Record<string, string> = {
  WS_MAX_CONNECTIONS_PER_IP: '1000000',
  WS_MAX_CONNECTIONS_PER_USER: '100000',
  WS_CONNECT_BURST: '1000000',
  WS_CONNECTS_PER_SECOND: '1000000',
  MESSAGE_RATE_BURST: '1000000',
  MESSAGE_RATE_PER_SECOND: '1000000',
  TYPING_RATE_BURST: '1000000',
  TYPING_RATE_PER_SECOND: '1000000',
  AUTH_RATE_BURST: '1000000',
  AUTH_RATE_PER_SECOND: '1000000',
  LOGIN_FAILURES: '1000000',
  ACCESS_TOKEN_TTL_SECONDS: '86400',
  HISTORY_ON_JOIN: '0',
};

/** Cumulative figures from natter's /metrics (summed over its instances), read before and after each phase. */
export interface ServerCounters {
  persisted: number;
  commits: number;
  /** Wall time of all group commits. */
  seconds: number;
  /** natter_ack_latency_seconds: [upper bound in s, cumulative count], ascending, +Inf last. */
  ackBuckets: Array<[number, number]>;
  /** natter_db_query_seconds{kind="transaction",outcome="ok"}, the same way. */
  commitBuckets: Array<[number, number]>;
  loopDelayP99: number;
  loopDelayMax: number;
  /** natter_gap_fills_total: room feeds that read the store for seqs the broker had not brought (yet). */
  gapFills: number;
}

/** natter's event-loop delay (s) from a `nodejs_eventloop_lag_*` figure, which includes the sampling interval. */
const loopDelay = (seconds: number) => Math.max(0, seconds - EVENT_LOOP_SAMPLE_MS / 1000);

export function pin(pid: number, cpu: string): boolean {
  try {
    execFileSync('taskset', ['-a', '-p', '-c', cpu, String(pid)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

async function spawnServer(script: string, args: string[], env: Record<string, string>): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const output: string[] = [];
  createInterface({ input: child.stderr! }).on('line', (l) => output.push(l));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${script} did not start:\n${output.join('\n')}`)), 20_000);
    createInterface({ input: child.stdout! }).on('line', (line) => {
      output.push(line);
      const m = /listening (\d+)/.exec(line);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${script} exited with ${code}:\n${output.join('\n')}`));
    });
  });
  return { child, port };
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

async function post(base: string, path: string, body: unknown, token?: string): Promise<any> {
  const res = await fetch(base + path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
  return res.json();
}

async function pool<T>(n: number, concurrency: number, fn: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = new Array(n);
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(n, concurrency) }, async () => {
    while (next < n) {
      const i = next++;
      out[i] = await fn(i);
    }
  }));
  return out;
}

async function signTokens(n: number): Promise<string[]> {
  const key = new TextEncoder().encode(JWT_SECRET);
  return Promise.all(Array.from({ length: n }, (_, i) =>
    new SignJWT({ name: `bench${i}` }).setProtectedHeader({ alg: 'HS256' }).setSubject(`u${i}`).setIssuer('natter').setAudience('natter').setIssuedAt().setExpirationTime('1d').sign(key),
  ));
}

async function createPgDatabase(adminUrl: string): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `natter_bench_${process.pid}_${randomBytes(3).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const c = new pg.Client({ connectionString: adminUrl });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

async function dropRedisPrefix(redisUrl: string, prefix: string): Promise<void> {
  const redis = createClient({ url: redisUrl });
  await redis.connect();
  for await (const keys of redis.scanIterator({ MATCH: `${prefix}*`, COUNT: 500 })) if (keys.length) await redis.del(keys);
  await redis.close();
}

/** Is a service reachable? (Targets that need Redis or PostgreSQL are skipped with a warning when not.) */
export async function available(opts: TargetOptions, name: TargetName): Promise<string | null> {
  const needsRedis = name === 'socketio' || name.startsWith('natter-rpg');
  const needsPg = name.startsWith('natter-rpg') || name === 'natter-pg';
  if (needsRedis) {
    try {
      const r = createClient({ url: opts.redisUrl, socket: { connectTimeout: 1000, reconnectStrategy: false } });
      r.on('error', () => undefined);
      await r.connect();
      await r.close();
    } catch {
      return `Redis unreachable at ${opts.redisUrl}`;
    }
  }
  if (needsPg) {
    try {
      const c = new pg.Client({ connectionString: opts.pgAdminUrl, connectionTimeoutMillis: 1000 });
      await c.connect();
      await c.end();
    } catch {
      return `PostgreSQL unreachable at ${opts.pgAdminUrl}`;
    }
  }
  return null;
}

export async function startTarget(name: TargetName, opts: TargetOptions): Promise<RunningTarget> {
  const pinIt = (pid: number) => opts.pin && pin(pid, '0');
  if (name === 'floor' || name === 'floor-coalesced' || name === 'floor-persist') {
    const dataDir = name === 'floor-persist' ? mkdtempSync(join(tmpdir(), 'natter-bench-floor-')) : undefined;
    const args = name === 'floor-coalesced' ? ['--coalesce'] : dataDir ? ['--persist', join(dataDir, 'floor.db')] : [];
    const { child, port } = await spawnServer('bench/servers/floor.ts', args, {});
    pinIt(child.pid!);
    let n = 0;
    return {
      name, proto: 'floor', pids: [child.pid!], senderUrl: `ws://127.0.0.1:${port}`, receiverUrl: `ws://127.0.0.1:${port}`, tokens: [''],
      createRooms: async (count) => Array.from({ length: count }, () => `r${n++}`),
      stop: async () => {
        await stopChild(child);
        if (dataDir) rmSync(dataDir, { recursive: true, force: true });
      },
    };
  }
  if (name === 'socketio') {
    const prefix = `bench-sio-${randomBytes(3).toString('hex')}`;
    const { child, port } = await spawnServer('bench/servers/socketio.ts', [], { REDIS_URL: opts.redisUrl, REDIS_PREFIX: prefix, JWT_SECRET });
    pinIt(child.pid!);
    let n = 0;
    return {
      name, proto: 'sio', pids: [child.pid!], senderUrl: `ws://127.0.0.1:${port}`, receiverUrl: `ws://127.0.0.1:${port}`, tokens: await signTokens(opts.users),
      createRooms: async (count) => Array.from({ length: count }, () => `r${n++}`),
      stop: () => stopChild(child),
    };
  }
  // natter
  const dataDir = mkdtempSync(join(tmpdir(), 'natter-bench-'));
  const env: Record<string, string> = { ...OPEN_LIMITS, DATA_DIR: dataDir, JWT_SECRET, LOG_LEVEL: 'info', DATABASE_URL: `sqlite:${join(dataDir, 'bench.db')}` };
  // A/B of the SQLite writer and checkpointer threads, the heap growth and the commit interval:
  // SQLITE_WRITER_THREAD=false (or SQLITE_CHECKPOINT_THREAD=false, HEAP_GROWTH=0, COMMIT_INTERVAL_MS=N)
  // npm run bench -- … (docs/benchmarks.md).
  for (const key of ['SQLITE_WRITER_THREAD', 'SQLITE_CHECKPOINT_THREAD', 'HEAP_GROWTH', 'COMMIT_INTERVAL_MS']) if (process.env[key]) env[key] = process.env[key];
  let db: { url: string; drop: () => Promise<void> } | undefined;
  const prefix = `natter-bench:${randomBytes(3).toString('hex')}:`;
  const withRedis = name.startsWith('natter-rpg');
  if (name !== 'natter') {
    db = await createPgDatabase(opts.pgAdminUrl);
    Object.assign(env, { DATABASE_URL: db.url }, withRedis && { REDIS_URL: opts.redisUrl, REDIS_PREFIX: prefix });
  }
  const instances: NatterProcess[] = [];
  const stop = async () => {
    await Promise.all(instances.map((i) => stopChild(i.child)));
    if (process.env.BENCH_SERVER_LOG) appendFileSync(process.env.BENCH_SERVER_LOG, instances.flatMap((i) => i.output).join('\n') + '\n');
    await db?.drop().catch(() => undefined);
    if (withRedis) await dropRedisPrefix(opts.redisUrl, prefix).catch(() => undefined);
    rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    instances.push(await startNatterProcess(env, 30_000, opts.nodeArgs, opts.entry));
    if (name === 'natter-rpg-2') instances.push(await startNatterProcess(env, 30_000, opts.nodeArgs, opts.entry));
    for (const i of instances) pinIt(i.child.pid!);
    const base = instances[0]!.baseUrl;
    const tag = randomBytes(2).toString('hex');
    const users = await pool(opts.users, 4, (i) => post(base, '/api/auth/register', { username: `b${tag}_${i}`, password: PASSWORD }));
    const owner = users[0].access_token as string;
    let n = 0;
    return {
      name, proto: 'natter', pids: instances.map((i) => i.child.pid!), senderUrl: instances[0]!.wsUrl, receiverUrl: instances.at(-1)!.wsUrl,
      tokens: users.map((u) => u.access_token as string),
      createRooms: (count) => pool(count, 8, async () => (await post(base, '/api/rooms', { name: `bench-${tag}-${n++}`, visibility: 'public' }, owner)).id as string),
      serverCounters: async () => {
        const texts = await Promise.all(instances.map(async (i) => (await fetch(`${i.baseUrl}/metrics`)).text()));
        const total = (re: RegExp) => texts.reduce((n, text) => n + [...text.matchAll(re)].reduce((m, x) => m + Number(x[1]), 0), 0);
        const highest = (re: RegExp) => Math.max(0, ...texts.flatMap((text) => [...text.matchAll(re)].map((x) => Number(x[1]))));
        const buckets = (re: RegExp): Array<[number, number]> => {
          const sums = new Map<number, number>();
          for (const text of texts) for (const [, le, n] of text.matchAll(re)) sums.set(Number(le), (sums.get(Number(le)) ?? 0) + Number(n));
          return [...sums].sort((x, y) => x[0] - y[0]);
        };
        return {
          persisted: total(/^natter_messages_persisted_total\{[^}]*\} (\S+)$/gm),
          commits: total(/^natter_db_query_seconds_count\{kind="transaction"[^}]*\} (\S+)$/gm),
          seconds: total(/^natter_db_query_seconds_sum\{kind="transaction"[^}]*\} (\S+)$/gm),
          ackBuckets: buckets(/^natter_ack_latency_seconds_bucket\{[^}]*le="([^"]+)"[^}]*\} (\S+)$/gm),
          commitBuckets: buckets(/^natter_db_query_seconds_bucket\{(?=[^}]*kind="transaction")(?=[^}]*outcome="ok")[^}]*le="([^"]+)"[^}]*\} (\S+)$/gm),
          // prom-client resets its event-loop delay histogram at every scrape: these cover the time since the last one.
          // Its figures are the intervals between samples: the delay is what exceeds the sampling interval.
          loopDelayP99: loopDelay(highest(/^nodejs_eventloop_lag_p99_seconds (\S+)$/gm)),
          loopDelayMax: loopDelay(highest(/^nodejs_eventloop_lag_max_seconds (\S+)$/gm)),
          gapFills: total(/^natter_gap_fills_total (\S+)$/gm),
        };
      },
      async extra(rooms) {
        if (name !== 'natter-rpg-2') return {};
        const redis = createClient({ url: opts.redisUrl });
        await redis.connect();
        const counts = await Promise.all(rooms.slice(0, 50).map(async (room) => {
          const channel = `${prefix}chat_room:{${room}}`;
          return Number((await redis.pubSubNumSub(channel))[channel]);
        }));
        await redis.close();
        // Instances with members in the room (2: A has the sender, B the receivers) and no other.
        return { max_subscribers_per_room_channel: Math.max(...counts) };
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
