/**
 * Redis for tests. The shared server (TEST_REDIS_URL, default redis://127.0.0.1:6379) is used with a unique key
 * prefix per test and cleaned by prefix — never FLUSHALL. Fault tests start their own redis-server processes on
 * spare ports (a single server, or a 3-master cluster) so they can kill and restart them.
 *
 * Unreachable shared server: with REQUIRE_SERVICES=1 (CI) suites FAIL; otherwise they skip loudly.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { createClient } from 'redis';

export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

let probe: Promise<boolean> | undefined;

/** Whether the shared Redis answers PING (asked once per file). Throws under REQUIRE_SERVICES=1 when it does not. */
export function redisAvailable(): Promise<boolean> {
  probe ??= (async () => {
    const client = createClient({ url: TEST_REDIS_URL, socket: { connectTimeout: 2_000, reconnectStrategy: false } });
    client.on('error', () => undefined);
    try {
      await client.connect();
      await client.ping();
      await client.close();
      return true;
    } catch (err) {
      if (process.env.REQUIRE_SERVICES === '1') throw new Error(`REQUIRE_SERVICES=1 but Redis at ${TEST_REDIS_URL} is unreachable: ${(err as Error).message}`);
      console.warn(`[natter tests] SKIPPING Redis suites: ${TEST_REDIS_URL} unreachable (${(err as Error).message})`);
      return false;
    }
  })();
  return probe;
}

export const uniquePrefix = () => `natter-test:${randomBytes(4).toString('hex')}:`;

/** Deletes every key under `prefix` on the shared server (SCAN, never FLUSHALL). */
export async function deletePrefix(prefix: string, url = TEST_REDIS_URL): Promise<void> {
  const client = createClient({ url });
  client.on('error', () => undefined);
  await client.connect();
  for await (const keys of client.scanIterator({ MATCH: `${prefix}*`, COUNT: 500 })) {
    if (keys.length > 0) await client.del(keys);
  }
  await client.close();
}

/** A free TCP port on 127.0.0.1 (bound and released). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export interface RedisServer {
  port: number;
  url: string;
  process: ChildProcess;
  /** kill -9, then wait for the exit. */
  kill(): Promise<void>;
  /** Starts it again on the same port (empty: no persistence). */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

function waitForLine(child: ChildProcess, pattern: RegExp, timeoutMs: number, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const lines: string[] = [];
    const timer = setTimeout(() => reject(new Error(`${what} not ready in ${timeoutMs} ms:\n${lines.join('\n')}`)), timeoutMs);
    const rl = createInterface({ input: child.stdout! });
    rl.on('line', (line) => {
      lines.push(line);
      if (pattern.test(line)) {
        clearTimeout(timer);
        rl.close();
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited with ${code}:\n${lines.join('\n')}`));
    });
  });
}

const exited = (child: ChildProcess) =>
  child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise<void>((resolve) => child.once('exit', () => resolve()));

/** A private redis-server on a spare port, for fault tests that kill and restart it. */
export async function startRedisServer(extraArgs: string[] = [], port?: number): Promise<RedisServer> {
  const chosen = port ?? (await freePort());
  const dir = mkdtempSync(join(tmpdir(), 'natter-redis-'));
  const launch = async () => {
    const child = spawn('redis-server', ['--port', String(chosen), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, ...extraArgs], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    await waitForLine(child, /Ready to accept connections/, 10_000, `redis-server :${chosen}`);
    return child;
  };
  const server: RedisServer = {
    port: chosen,
    url: `redis://127.0.0.1:${chosen}`,
    process: await launch(),
    async kill() {
      server.process.kill('SIGKILL');
      await exited(server.process);
    },
    async restart() {
      server.process = await launch();
    },
    async stop() {
      server.process.kill('SIGKILL');
      await exited(server.process);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return server;
}

export interface RedisCluster {
  nodes: RedisServer[];
  /** Seed URLs, comma-separated, for REDIS_URL with REDIS_CLUSTER=true. */
  url: string;
  stop(): Promise<void>;
}

/** A 3-master Redis Cluster from redis-server processes on spare ports (no replicas). */
export async function startRedisCluster(masters = 3): Promise<RedisCluster> {
  const nodes: RedisServer[] = [];
  for (let i = 0; i < masters; i++) {
    nodes.push(await startRedisServer(['--cluster-enabled', 'yes', '--cluster-config-file', `nodes.conf`, '--cluster-node-timeout', '2000']));
  }
  const created = spawnSync('redis-cli', ['--cluster', 'create', ...nodes.map((n) => `127.0.0.1:${n.port}`), '--cluster-replicas', '0', '--cluster-yes'], {
    encoding: 'utf8',
    timeout: 30_000,
  });
  if (created.status !== 0) throw new Error(`redis-cli --cluster create failed:\n${created.stdout}\n${created.stderr}`);
  // Wait (bounded) until every node agrees the cluster is ok.
  const deadline = Date.now() + 15_000;
  for (const node of nodes) {
    for (;;) {
      const info = spawnSync('redis-cli', ['-p', String(node.port), 'cluster', 'info'], { encoding: 'utf8' }).stdout;
      if (info.includes('cluster_state:ok')) break;
      if (Date.now() > deadline) throw new Error(`cluster not ok on :${node.port}:\n${info}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return {
    nodes,
    url: nodes.map((n) => n.url).join(','),
    async stop() {
      await Promise.all(nodes.map((n) => n.stop()));
    },
  };
}
