/**
 * Store throughput probe (not a test): appends through SqlStore on a SQLite file and on PostgreSQL.
 *   1. closed loop: N appends over R rooms with W in flight → msgs/s and append latency p50/p99;
 *   2. open loop at half that rate for a few seconds → latency from the intended send time, p50/p99.
 *
 *   npx tsx bench/store-probe.ts            (env: PROBE_MESSAGES=50000 PROBE_WINDOW=1000 PROBE_ROOMS=100
 *                                             PROBE_OPEN_SECONDS=5 PROBE_TARGETS=sqlite,postgres
 *                                             TEST_DATABASE_URL=postgres://…/postgres)
 *   PROBE_RATE=N fixes the open loop's rate (default: half the closed loop's); PROBE_BURN_US=U spends U µs of
 *   CPU on the event loop per append, as a server's message handling would (run it under `taskset -c 0` to
 *   share one core with the SQLite writer thread as `npm run bench` does).
 *   PROBE_WRITER_THREAD=0 commits on the event loop, PROBE_CHECKPOINTER=0 leaves checkpoints to the commits.
 *   PROBE_OPEN_ONLY=1 skips phase 1 (and warms up at that rate for 3 s instead). client_msg_ids are the SDK's
 *   (time first, client/outbox.ts); PROBE_CLIENT_IDS=random makes them UUIDs.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { openSqlStore, type SqlStore } from '../src/adapters/sql/sql-database.js';
import type { AppendInput } from '../src/core/ports.js';
import { asMessageId, asRoomId, asUserId, type RoomId, type UserId } from '../src/core/types.js';
import { newClientMsgId } from '../client/outbox.js';

const MESSAGES = Number(process.env.PROBE_MESSAGES ?? 50_000);
const WINDOW = Number(process.env.PROBE_WINDOW ?? 1_000);
const ROOMS = Number(process.env.PROBE_ROOMS ?? 100);
const OPEN_SECONDS = Number(process.env.PROBE_OPEN_SECONDS ?? 5);
const ADMIN_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const TARGETS = (process.env.PROBE_TARGETS ?? 'sqlite,postgres').split(',');
const OPEN_RATE = process.env.PROBE_RATE ? Number(process.env.PROBE_RATE) : undefined;
const BURN_US = Number(process.env.PROBE_BURN_US ?? 0);
const OPEN_ONLY = process.env.PROBE_OPEN_ONLY === '1';
const RANDOM_CLIENT_IDS = process.env.PROBE_CLIENT_IDS === 'random';
const BODY = 'The quick brown fox jumps over the lazy dog; a message of about a hundred bytes, like chat. 🦊';

interface Fixture {
  rooms: RoomId[];
  senders: Array<{ id: UserId; name: string }>;
}

async function seed(store: SqlStore): Promise<Fixture> {
  const senders = Array.from({ length: 10 }, (_, i) => ({ id: asUserId(`probe-u${i}`), name: `prober${i}` }));
  for (const s of senders) await store.createUser({ id: s.id, username: s.name, passwordHash: 'x', createdAt: Date.now() });
  const rooms = Array.from({ length: ROOMS }, (_, i) => asRoomId(`probe-r${i}`));
  for (const [i, id] of rooms.entries()) {
    await store.createRoom({ id, name: `probe room ${i}`, visibility: 'public', ownerId: senders[0]!.id, createdAt: Date.now() });
  }
  return { rooms, senders };
}

let sequence = 0;
function nextInput(fixture: Fixture): AppendInput {
  const n = sequence++;
  const sender = fixture.senders[n % fixture.senders.length]!;
  return {
    id: asMessageId(`m${n}-${randomBytes(4).toString('hex')}`),
    roomId: fixture.rooms[n % fixture.rooms.length]!,
    senderId: sender.id,
    senderName: sender.name,
    type: 'text',
    body: BODY,
    clientMsgId: RANDOM_CLIENT_IDS ? randomUUID() : newClientMsgId(),
    createdAt: Date.now(),
  };
}

const percentile = (sorted: ArrayLike<number>, p: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? NaN;
const ms = (v: number) => `${v.toFixed(2)} ms`;

async function closedLoop(store: SqlStore, fixture: Fixture) {
  const latencies: number[] = [];
  let issued = 0;
  const worker = async () => {
    while (issued < MESSAGES) {
      issued++;
      const t0 = performance.now();
      await store.append(nextInput(fixture));
      latencies.push(performance.now() - t0);
    }
  };
  const start = performance.now();
  const cpu = process.cpuUsage();
  await Promise.all(Array.from({ length: WINDOW }, worker));
  const { user, system } = process.cpuUsage(cpu);
  const seconds = (performance.now() - start) / 1000;
  latencies.sort((a, b) => a - b);
  return {
    rate: MESSAGES / seconds,
    p50: percentile(latencies, 0.5),
    p99: percentile(latencies, 0.99),
    cpuPerMessage: (user + system) / MESSAGES, // µs of this process (load generator included), not the server's
  };
}

/** Offers `rate` appends/s for OPEN_SECONDS; latency counts from each append's intended send time. */
async function openLoop(store: SqlStore, fixture: Fixture, rate: number, seconds = OPEN_SECONDS) {
  const total = Math.floor(rate * seconds);
  // Preallocated and no promise kept per append, so the probe's own garbage does not lengthen the tail it measures.
  const latencies = new Float64Array(total);
  let done = 0;
  let allDone: (error?: unknown) => void = () => undefined;
  const finished = new Promise<void>((resolve, reject) => (allDone = (error) => (error === undefined ? resolve() : reject(error))));
  const start = performance.now();
  let sent = 0;
  while (sent < total) {
    const due = Math.min(total, Math.floor(((performance.now() - start) / 1000) * rate));
    for (; sent < due; sent++) {
      const intended = start + (sent / rate) * 1000;
      if (BURN_US > 0) burn(BURN_US);
      store.append(nextInput(fixture)).then(() => {
        latencies[done++] = performance.now() - intended;
        if (done === total) allDone();
      }, allDone);
    }
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  if (total > 0) await finished;
  latencies.sort();
  return { rate, p50: percentile(latencies, 0.5), p99: percentile(latencies, 0.99), p999: percentile(latencies, 0.999), max: latencies.at(-1) ?? NaN };
}

/** Busy-waits `us` microseconds: the CPU a server spends per message besides the store. */
function burn(us: number): void {
  const until = performance.now() + us / 1000;
  while (performance.now() < until);
}

async function probe(label: string, url: string): Promise<void> {
  const appends = { writerThread: process.env.PROBE_WRITER_THREAD !== '0', checkpointerThread: process.env.PROBE_CHECKPOINTER !== '0' };
  const store = await openSqlStore({ url, appends, log: { warn: (o, m) => console.warn(m, o), error: (o, m) => console.error(m, o) } });
  try {
    const fixture = await seed(store);
    const closed = OPEN_ONLY ? { rate: 2 * (OPEN_RATE ?? 0), p50: NaN, p99: NaN, cpuPerMessage: NaN } : await closedLoop(store, fixture);
    if (!OPEN_ONLY) console.log(
      `${label.padEnd(10)} closed loop (${MESSAGES} msgs, ${WINDOW} in flight, ${ROOMS} rooms): ` +
        `${Math.round(closed.rate).toLocaleString('en')} msgs/s, p50 ${ms(closed.p50)}, p99 ${ms(closed.p99)}, ` +
        `${closed.cpuPerMessage.toFixed(1)} µs CPU/msg in-process`,
    );
    const rate = OPEN_RATE ?? Math.round(closed.rate / 2);
    if (OPEN_ONLY) await openLoop(store, fixture, rate, 3); // warm-up: the writer thread loading, JIT, a non-empty table
    const open = await openLoop(store, fixture, rate);
    console.log(
      `${label.padEnd(10)} open loop at ${open.rate.toLocaleString('en')} msgs/s${OPEN_RATE ? '' : ' (half)'} for ${OPEN_SECONDS} s` +
        `${BURN_US ? `, ${BURN_US} µs CPU per append on the event loop` : ''}: ` +
        `p50 ${ms(open.p50)}, p99 ${ms(open.p99)}, p99.9 ${ms(open.p999)}, max ${ms(open.max)}`,
    );
    let total = 0;
    for (const room of fixture.rooms) total += await store.head(room);
    if (total !== sequence) throw new Error(`expected ${sequence} stored messages, heads add up to ${total}`);
  } finally {
    await store.close();
  }
}

if (TARGETS.includes('sqlite')) {
  const dir = mkdtempSync(join(tmpdir(), 'natter-probe-'));
  try {
    sequence = 0;
    await probe('SQLite', `sqlite:${join(dir, 'probe.db')}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (TARGETS.includes('postgres')) await probePostgres();

async function probePostgres(): Promise<void> {
  const admin = new pg.Client({ connectionString: ADMIN_URL, connectionTimeoutMillis: 3_000 });
  const database = `natter_probe_${randomBytes(4).toString('hex')}`;
  try {
    await admin.connect();
    await admin.query(`create database "${database}"`);
  } catch (error) {
    console.warn(`PostgreSQL skipped: ${(error as Error).message}`);
    await admin.end().catch(() => undefined);
    return;
  }
  try {
    const url = new URL(ADMIN_URL);
    url.pathname = `/${database}`;
    sequence = 0;
    await probe('PostgreSQL', url.toString());
  } finally {
    await admin.query(`drop database if exists "${database}" with (force)`);
    await admin.end();
  }
}
