/**
 * Persist-and-ack benchmark (issue 2; W6 of docs/benchmarking): many connections send into 100 rooms through the
 * real WebSocket path; every message is committed before its ack. Phase 1 (closed loop, W in flight per
 * connection) finds capacity; phase 2 (open loop at 50% of it) measures ack latency from the intended send time.
 * Every run checks delivery: each sender is a member of its room, so received pushes must equal acks.
 *
 *   npm run bench -- --db sqlite|postgres [--rooms 100] [--conns 100] [--window 8] [--seconds 10]
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import WebSocket from 'ws';
import { startNatterProcess } from '../test/support/process.js';
import { newClientMsgId } from '../client/outbox.js';

const { values: args } = parseArgs({
  options: {
    db: { type: 'string', default: 'sqlite' },
    rooms: { type: 'string', default: '100' },
    conns: { type: 'string', default: '100' },
    window: { type: 'string', default: '8' },
    seconds: { type: 'string', default: '10' },
    'pg-admin': { type: 'string', default: process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres' },
  },
});
const ROOMS = Number(args.rooms);
const CONNS = Number(args.conns);
const WINDOW = Number(args.window);
const SECONDS = Number(args.seconds);
const PASSWORD = 'benchmark password 123';

const now = () => performance.now();
const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
const cpuOf = (pid: number) => {
  const stat = execFileSync('cat', [`/proc/${pid}/stat`]).toString().split(') ')[1]!.split(' ');
  return (Number(stat[11]) + Number(stat[12])) / 100; // utime + stime in seconds (CLK_TCK 100)
};
const tryPin = (pid: number, cpu: string) => {
  try {
    execFileSync('taskset', ['-a', '-p', '-c', cpu, String(pid)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
};

class Sender {
  readonly ws: WebSocket;
  private seq = 0;
  private readonly pending = new Map<string, number>();
  acked = 0;
  received = 0;
  duplicates = 0;
  private lastSeq = 0;
  latencies: number[] = [];
  onAck: (() => void) | undefined;

  constructor(url: string, token: string, readonly room: string, readonly tag: string) {
    this.ws = new WebSocket(`${url}?token=${token}`);
    this.ws.on('message', (data) => {
      const text = data.toString();
      if (text.startsWith('{"type":"message"')) {
        const seq = Number(/"seq":(\d+)/.exec(text)![1]);
        if (seq <= this.lastSeq) this.duplicates++;
        else this.received++;
        this.lastSeq = Math.max(this.lastSeq, seq);
        return;
      }
      if (!text.startsWith('{"type":"reply"')) return;
      const frame = JSON.parse(text) as { id: string; ok: boolean; error?: unknown };
      const sentAt = this.pending.get(frame.id);
      if (sentAt === undefined) return;
      this.pending.delete(frame.id);
      if (!frame.ok) throw new Error(`send failed: ${JSON.stringify(frame.error)}`);
      this.acked++;
      this.latencies.push(now() - sentAt);
      this.onAck?.();
    });
  }

  async open(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.ws.once('message', () => resolve()); // hello
      this.ws.once('error', reject);
    });
    const id = 'join';
    await new Promise<void>((resolve) => {
      const onMsg = (data: WebSocket.RawData) => {
        if (data.toString().includes('"id":"join"')) {
          this.ws.off('message', onMsg);
          resolve();
        }
      };
      this.ws.on('message', onMsg);
      this.ws.send(JSON.stringify({ type: 'room.join', id, room: this.room, since: 1 << 30 }));
    });
  }

  send(intendedAt = now()): void {
    const id = `${this.tag}-${++this.seq}`;
    this.pending.set(id, intendedAt);
    this.ws.send(`{"type":"message.send","id":"${id}","room":"${this.room}","body":"benchmark message ${id}","client_msg_id":"${newClientMsgId()}"}`);
  }

  get inFlight(): number {
    return this.pending.size;
  }
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

async function run(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'natter-bench-'));
  let databaseUrl = `sqlite:${join(dataDir, 'bench.db')}`;
  let dropDb: (() => Promise<void>) | undefined;
  if (args.db === 'postgres') {
    const name = `natter_bench_${process.pid}`;
    const admin = new pg.Client({ connectionString: args['pg-admin'] });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
    await admin.end();
    const url = new URL(args['pg-admin']!);
    url.pathname = `/${name}`;
    databaseUrl = url.toString();
    dropDb = async () => {
      const c = new pg.Client({ connectionString: args['pg-admin'] });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    };
  }
  const server = await startNatterProcess({ DATA_DIR: dataDir, DATABASE_URL: databaseUrl, LOG_LEVEL: 'info', JWT_SECRET: 'bench-secret-bench-secret-bench-secret-0123' }, 20_000, process.env.BENCH_NODE_ARGS?.split(' ').filter(Boolean));
  const pinned = tryPin(server.child.pid!, '0') && tryPin(process.pid, '1');
  try {
    const users = await Promise.all(Array.from({ length: Math.min(10, CONNS) }, (_, i) => post(server.baseUrl, '/api/auth/register', { username: `bench${i}`, password: PASSWORD })));
    const rooms: string[] = [];
    for (let i = 0; i < ROOMS; i++) rooms.push((await post(server.baseUrl, '/api/rooms', { name: `bench-room-${i}` }, users[0].access_token)).id);
    const senders = Array.from({ length: CONNS }, (_, i) => new Sender(server.wsUrl, users[i % users.length].access_token, rooms[i % ROOMS]!, `c${i}`));
    await Promise.all(senders.map((s) => s.open()));

    // Phase 1: closed loop.
    const cpu0 = cpuOf(server.child.pid!);
    let stop = false;
    for (const s of senders) {
      s.onAck = () => {
        if (!stop) s.send();
      };
      for (let i = 0; i < WINDOW; i++) s.send();
    }
    const t0 = now();
    await new Promise((r) => setTimeout(r, SECONDS * 1000));
    stop = true;
    const elapsed = (now() - t0) / 1000;
    const acked1 = senders.reduce((n, s) => n + s.acked, 0);
    await waitFor(() => senders.every((s) => s.inFlight === 0), 30_000);
    const capacity = acked1 / elapsed;
    const cpuPerMsg = ((cpuOf(server.child.pid!) - cpu0) / senders.reduce((n, s) => n + s.acked, 0)) * 1e6;
    const lat1 = senders.flatMap((s) => s.latencies).sort((a, b) => a - b);

    // Phase 2: open loop at 50% of capacity, latency from the intended send time.
    for (const s of senders) {
      s.latencies = [];
      s.onAck = undefined;
    }
    const rate = capacity / 2;
    const perConnInterval = (CONNS / rate) * 1000;
    const start = now();
    const end = start + SECONDS * 1000;
    await new Promise<void>((resolve) => {
      const next = senders.map((_, i) => start + (i / CONNS) * perConnInterval);
      const tick = () => {
        const t = now();
        for (let i = 0; i < senders.length; i++) {
          while (next[i]! <= t && next[i]! < end) {
            senders[i]!.send(next[i]);
            next[i]! += perConnInterval;
          }
        }
        if (t < end) setImmediate(tick);
        else resolve();
      };
      tick();
    });
    await waitFor(() => senders.every((s) => s.inFlight === 0), 30_000);
    const lat2 = senders.flatMap((s) => s.latencies).sort((a, b) => a - b);

    const acked = senders.reduce((n, s) => n + s.acked, 0);
    await waitFor(() => senders.reduce((n, s) => n + s.received, 0) >= acked, 10_000).catch(() => undefined);
    const received = senders.reduce((n, s) => n + s.received, 0);
    const duplicates = senders.reduce((n, s) => n + s.duplicates, 0);
    const result = {
      db: args.db,
      rooms: ROOMS,
      connections: CONNS,
      window: WINDOW,
      pinned,
      capacity_msgs_per_s: Math.round(capacity),
      closed_loop_ack_ms: { p50: round(pct(lat1, 50)), p99: round(pct(lat1, 99)) },
      server_cpu_us_per_msg: round(cpuPerMsg),
      half_load: { rate_msgs_per_s: Math.round(rate), ack_ms_p50: round(pct(lat2, 50)), ack_ms_p99: round(pct(lat2, 99)), ack_ms_max: round(lat2.at(-1) ?? NaN) },
      delivery: { acked, received, lost: acked - received, duplicated: duplicates },
    };
    console.log(JSON.stringify(result, null, 2));
    for (const s of senders) s.ws.terminate();
    if (result.delivery.lost !== 0 || result.delivery.duplicated !== 0) process.exitCode = 1;
  } finally {
    server.child.kill('SIGTERM');
    await server.exited;
    await dropDb?.();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

const round = (n: number) => Math.round(n * 100) / 100;

async function waitFor(test: () => boolean, ms: number): Promise<void> {
  const deadline = now() + ms;
  while (!test()) {
    if (now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}

await run();
