import WebSocket from 'ws';
import { startNatterProcess } from '../test/support/process.js';
import pg from 'pg';
async function createTestDatabase() { const name = `natter_probe_${process.pid}`; const c = new pg.Client('postgres://postgres@127.0.0.1:5432/postgres'); await c.connect(); await c.query(`create database ${name}`); if (process.env.NOJIT) await c.query(`alter database ${name} set jit = off`); await c.end(); return { url: `postgres://postgres@127.0.0.1:5432/${name}`, drop: async () => { const d = new pg.Client('postgres://postgres@127.0.0.1:5432/postgres'); await d.connect(); await d.query(`drop database ${name} with (force)`); await d.end(); } }; }
const mode = process.argv[2] ?? 'rpg';
const RATE = Number(process.argv[3] ?? 5000);
const db = mode === 'rpg' ? await createTestDatabase() : undefined;
const env: Record<string, string> = { XQ: '1', ...(process.env.XLEASE ? { PRESENCE_LEASE_MS: process.env.XLEASE } : {}), MESSAGE_RATE_BURST: '1000000', MESSAGE_RATE_PER_SECOND: '1000000', WS_MAX_CONNECTIONS_PER_USER: '100000', WS_CONNECT_BURST: '100000', WS_CONNECTS_PER_SECOND: '100000', JWT_SECRET: 'x'.repeat(40), HISTORY_ON_JOIN: '0', DATA_DIR: '/tmp/natter-probe', DATABASE_URL: db ? db.url : 'sqlite:/tmp/natter-probe/p.db', ...(db ? { REDIS_URL: 'redis://127.0.0.1:6379', REDIS_PREFIX: `probe${process.pid}:` } : {}) };
const n = await startNatterProcess(env, 45_000, process.env.XNODEARGS ? process.env.XNODEARGS.split(' ') : []);
const post = async (path: string, body: unknown, token?: string) => (await fetch(n.baseUrl + path, { method: 'POST', headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) }, body: JSON.stringify(body) })).json() as Promise<any>;
const u = await post('/api/auth/register', { username: `probe${process.pid}`, password: 'probe password 123' });
const token = u.access_token;
const rooms: string[] = [];
for (let i = 0; i < 100; i++) rooms.push((await post('/api/rooms', { name: `probe-${process.pid}-${i}`, visibility: 'public' }, token)).id);
const socks = await Promise.all(rooms.map((room) => new Promise<{ ws: WebSocket; room: string }>((resolve) => {
  const ws = new WebSocket(`${n.wsUrl}?token=${token}`);
  ws.on('message', (d) => { const s = d.toString(); if (s.startsWith('{"type":"hello"')) ws.send(JSON.stringify({ type: 'room.join', id: 'j', room })); else if (s.includes('"id":"j"')) resolve({ ws, room }); else if (s.includes('"reply"')) onAck(s); });
})));
const pending = new Map<string, number>();
let errors = 0;
const acks: Array<[number, number]> = [];
const t0 = performance.now(); console.log('t0 (natter uptime ms)', await (await fetch(n.baseUrl + '/metrics')).text().then(() => 0));
function onAck(s: string) { const id = /"id":"([^"]+)"/.exec(s)![1]!; const at = pending.get(id); if (s.includes('"ok":false')) errors++; if (at !== undefined) { pending.delete(id); acks.push([at - t0, performance.now() - at]); } }
let k = 0; let next = performance.now(); const end = next + 10_000;
await new Promise<void>((resolve) => { const tick = () => { const t = performance.now(); while (next <= t && next < end) { const s = socks[k % socks.length]!; const id = `m${k++}`; pending.set(id, next); s.ws.send(JSON.stringify({ type: 'message.send', id, room: s.room, body: 'hello', client_msg_id: id })); next += 1000 / RATE; } if (t < end) setTimeout(tick, 1); else setTimeout(resolve, 1000); }; tick(); });
const lat = acks.filter((a) => a[0] > 1000).map((a) => a[1]).sort((a, b) => a - b);
console.log('errors', errors, 'acks', acks.length, 'p50', lat[lat.length >> 1]!.toFixed(2), 'p99', lat[Math.floor(lat.length * 0.99)]!.toFixed(2), 'max', lat.at(-1)!.toFixed(1));
// worst 100 ms windows
const buckets = new Map<number, number>(); for (const [at, l] of acks) { const b = Math.floor(at / 100); buckets.set(b, Math.max(buckets.get(b) ?? 0, l)); }
console.log('worst windows (s: max ms):', [...buckets].sort((a, b) => b[1] - a[1]).slice(0, 12).map(([b, l]) => `${(b / 10).toFixed(1)}:${l.toFixed(0)}`).join(' '));
const m = await (await fetch(n.baseUrl + '/metrics')).text();
console.log(m.split("\n").filter((l) => /natter_db_query_seconds_(bucket|count|sum)\{.*transaction|natter_ack_latency_seconds_(sum|count)|eventloop_lag_(p99|max)|gc_duration_seconds_sum|natter_db_query_seconds_(sum|count)\{kind="query"/.test(l)).join("\n"));
for (const s of socks) s.ws.close();
n.child.kill('SIGTERM'); await n.exited; console.log(n.output.filter((l) => l.includes('XSLOW') || /Mark|Scavenge.*[0-9]{2}\.[0-9]+ \//.test(l) || l.includes('"level":40') || l.includes('"level":50')).slice(0, 20).join('\n')); await db?.drop();
