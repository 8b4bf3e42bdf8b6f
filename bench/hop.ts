/**
 * The cost of the Redis hop (issue 3): the same work on one instance and across two instances through Redis, in
 * one run. Senders publish at a fixed open-loop rate into R rooms of K receivers; each message carries its send
 * time; receivers record one-way latency. Mode "1 instance": senders and receivers on A. Mode "2 instances":
 * senders on A, receivers on B. A third instance C with no members checks that Redis sends it nothing.
 *
 *   npx tsx bench/hop.ts [--rooms 10] [--members 10] [--rate 500] [--seconds 10] [--runs 3]
 */
import { parseArgs } from 'node:util';
import { randomBytes } from 'node:crypto';
import { createClient } from 'redis';
import WebSocket from 'ws';
import pg from 'pg';
import { startCluster, type NatterCluster } from '../test/support/cluster.js';

const { values: args } = parseArgs({
  options: {
    rooms: { type: 'string', default: '10' },
    members: { type: 'string', default: '10' },
    rate: { type: 'string', default: '500' },
    seconds: { type: 'string', default: '10' },
    runs: { type: 'string', default: '3' },
    redis: { type: 'string', default: process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379' },
    'pg-admin': { type: 'string', default: process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres' },
  },
});
const ROOMS = Number(args.rooms);
const MEMBERS = Number(args.members);
const RATE = Number(args.rate);
const SECONDS = Number(args.seconds);
const RUNS = Number(args.runs);
const now = () => performance.timeOrigin + performance.now();
const pct = (s: number[], p: number) => s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
const r2 = (n: number) => Math.round(n * 100) / 100;

async function post(base: string, path: string, body: unknown, token?: string): Promise<any> {
  const res = await fetch(base + path, { method: 'POST', headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) }, body: JSON.stringify(body) });
  if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
  return res.json();
}

function open(url: string, token: string, onMessage?: (text: string) => void): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${url}?token=${token}`);
    ws.once('error', reject);
    ws.once('message', () => {
      if (onMessage) ws.on('message', (d) => onMessage(d.toString()));
      resolve(ws);
    });
  });
}

function request(ws: WebSocket, frame: Record<string, unknown>): Promise<void> {
  return new Promise((resolve) => {
    const onMsg = (d: WebSocket.RawData) => {
      if (d.toString().includes(`"id":"${frame.id}"`)) {
        ws.off('message', onMsg);
        resolve();
      }
    };
    ws.on('message', onMsg);
    ws.send(JSON.stringify(frame));
  });
}

async function measure(cluster: NatterCluster, token: string, rooms: string[], receiverInstance: number, subscribers: (room: string) => Promise<number>) {
  const latencies: number[] = [];
  let received = 0;
  const receivers: WebSocket[] = [];
  for (const room of rooms) {
    for (let m = 0; m < MEMBERS; m++) {
      const ws = await open(cluster.instances[receiverInstance]!.wsUrl, token, (text) => {
        if (!text.startsWith('{"type":"message"')) return;
        received++;
        const sent = /"body":"t=([0-9.]+)/.exec(text);
        if (sent && received % 5 === 0) latencies.push(now() - Number(sent[1]));
      });
      await request(ws, { type: 'room.join', id: 'j', room, since: 1 << 30 });
      receivers.push(ws);
    }
  }
  const senders = await Promise.all(rooms.map(async (room) => {
    const ws = await open(cluster.instances[0]!.wsUrl, token);
    await request(ws, { type: 'room.join', id: 'j', room, since: 1 << 30 });
    return ws;
  }));
  received = 0;
  latencies.length = 0;
  const interval = 1000 / (RATE / rooms.length);
  const start = performance.now();
  let sent = 0;
  const tag = randomBytes(3).toString('hex');
  await new Promise<void>((resolve) => {
    const next = rooms.map((_, i) => start + (i / rooms.length) * interval);
    const tick = () => {
      const t = performance.now();
      for (let i = 0; i < senders.length; i++) {
        while (next[i]! <= t && next[i]! < start + SECONDS * 1000) {
          sent++;
          senders[i]!.send(`{"type":"message.send","id":"s${sent}","room":"${rooms[i]}","body":"t=${performance.timeOrigin + next[i]!}","client_msg_id":"${tag}-${sent}"}`);
          next[i]! += interval;
        }
      }
      if (t < start + SECONDS * 1000) setTimeout(tick, 1);
      else resolve();
    };
    tick();
  });
  const expected = sent * MEMBERS;
  const deadline = Date.now() + 15_000;
  while (received < expected && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  // Subscriptions per room channel while loaded: the instances with members, and no other.
  const perRoom = await Promise.all(rooms.map(subscribers));
  for (const ws of [...receivers, ...senders]) ws.terminate();
  latencies.sort((a, b) => a - b);
  return { sent, expected, received, lost: expected - received, p50: r2(pct(latencies, 50)), p99: r2(pct(latencies, 99)), subscribers_per_room: Math.max(...perRoom) };
}

async function main(): Promise<void> {
  const dbName = `natter_hop_${process.pid}`;
  const admin = new pg.Client({ connectionString: args['pg-admin'] });
  await admin.connect();
  await admin.query(`create database ${dbName}`);
  const dbUrl = new URL(args['pg-admin']!);
  dbUrl.pathname = `/${dbName}`;
  const prefix = `natter-bench:${randomBytes(3).toString('hex')}:`;
  const cluster = await startCluster({ instances: 3, redisUrl: args.redis!, redisPrefix: prefix, databaseUrl: dbUrl.toString(), env: { LOG_LEVEL: 'info' } });
  try {
    const user = await post(cluster.instances[0]!.baseUrl, '/api/auth/register', { username: `hop${process.pid}`, password: 'benchmark password 123' });
    const rooms: string[] = [];
    for (let i = 0; i < ROOMS; i++) rooms.push((await post(cluster.instances[0]!.baseUrl, '/api/rooms', { name: `hop-${i}-${prefix}` }, user.access_token)).id);
    const results: Array<{ mode: string; run: number } & Awaited<ReturnType<typeof measure>>> = [];
    const redis = createClient({ url: args.redis });
    await redis.connect();
    const subscribers = async (room: string) => {
      const channel = `${prefix}chat_room:{${room}}`;
      return Number((await redis.pubSubNumSub(channel))[channel]);
    };
    for (let run = 1; run <= RUNS; run++) {
      results.push({ mode: '1 instance', run, ...(await measure(cluster, user.access_token, rooms, 0, subscribers)) });
      results.push({ mode: '2 instances', run, ...(await measure(cluster, user.access_token, rooms, 1, subscribers)) });
    }
    await redis.close();
    const median = (mode: string, key: 'p50' | 'p99') => {
      const v = results.filter((r) => r.mode === mode).map((r) => r[key]).sort((a, b) => a - b);
      return v[Math.floor(v.length / 2)]!;
    };
    const summary = {
      rooms: ROOMS,
      members: MEMBERS,
      rate_msgs_per_s: RATE,
      deliveries_per_s: RATE * MEMBERS,
      runs: results,
      median_1_instance: { p50: median('1 instance', 'p50'), p99: median('1 instance', 'p99') },
      median_2_instances: { p50: median('2 instances', 'p50'), p99: median('2 instances', 'p99') },
      added_by_redis_hop_ms: { p50: r2(median('2 instances', 'p50') - median('1 instance', 'p50')), p99: r2(median('2 instances', 'p99') - median('1 instance', 'p99')) },
      // 1 in "1 instance" mode, 2 in "2 instances" mode: instance C, with no members, is never subscribed.
      max_subscribers_per_room_channel: { one: Math.max(...results.filter((r) => r.mode === '1 instance').map((r) => r.subscribers_per_room)), two: Math.max(...results.filter((r) => r.mode === '2 instances').map((r) => r.subscribers_per_room)) },
    };
    console.log(JSON.stringify(summary, null, 2));
    if (results.some((r) => r.lost !== 0)) process.exitCode = 1;
  } finally {
    await cluster.stop();
    await admin.query(`drop database if exists ${dbName} with (force)`);
    await admin.end();
    const redis = createClient({ url: args.redis });
    await redis.connect();
    for await (const keys of redis.scanIterator({ MATCH: `${prefix}*`, COUNT: 500 })) if (keys.length) await redis.del(keys);
    await redis.close();
  }
}

await main();
