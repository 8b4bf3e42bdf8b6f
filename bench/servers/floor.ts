/**
 * The raw floor (docs/benchmarking.md W0): a `ws` relay with no logic. A client names its room in the query string
 * (`/?room=R`); every text frame it sends is parsed once, serialized once, and written to every member of that room
 * (the sender too, as natter does): serialized once to UTF-8 bytes, as natter encodes a shared push once.
 * `--coalesce` corks each socket for the rest of the event-loop turn and uncorks them all with one setImmediate,
 * natter's own write-coalescing (`corkForThisTurn`, imported from src/transport/ws/socket-writes.ts).
 * `--persist FILE` first commits each message, alone, to a SQLite file opened as natter opens its own (`openSqlite`:
 * WAL, `synchronous=FULL`, so every commit is synced): one insert of (room, seq, body, time) keyed by (room, seq),
 * on the event loop — the least a relay can do to store every message durably before it fans it out.
 *
 *   tsx bench/servers/floor.ts [--coalesce] [--persist FILE] [--port 0]     prints "floor listening <port>"
 */
import { parseArgs } from 'node:util';
import { WebSocketServer, type WebSocket } from 'ws';
import { openSqlite } from '../../src/adapters/sql/sqlite-open.js';
import { corkForThisTurn, socketOf } from '../../src/transport/ws/socket-writes.js';

const { values } = parseArgs({
  options: { coalesce: { type: 'boolean', default: false }, persist: { type: 'string' }, port: { type: 'string', default: '0' } },
});
const coalesce = values.coalesce;
const rooms = new Map<string, Set<WebSocket>>();
const store = values.persist === undefined ? undefined : openStore(values.persist);

function openStore(filename: string) {
  const db = openSqlite(filename);
  db.exec('create table if not exists messages (room text not null, seq integer not null, body text not null, created_at integer not null, primary key (room, seq))');
  const insert = db.prepare('insert into messages (room, seq, body, created_at) values (?, ?, ?, ?)');
  const heads = new Map<string, number>();
  return (room: string, body: string): void => {
    const seq = (heads.get(room) ?? 0) + 1;
    insert.run(room, seq, body, Date.now()); // autocommit: one synced transaction per message
    heads.set(room, seq);
  };
}

const write = (ws: WebSocket, bytes: Buffer): void => {
  if (coalesce) {
    const socket = socketOf(ws);
    if (socket) corkForThisTurn(socket);
  }
  ws.send(bytes, { binary: false });
};

const wss = new WebSocketServer({ host: '127.0.0.1', port: Number(values.port), perMessageDeflate: false, maxPayload: 64 * 1024 });
wss.on('connection', (ws, req) => {
  const room = new URL(req.url ?? '/', 'http://x').searchParams.get('room') ?? 'lobby';
  let members = rooms.get(room);
  if (!members) rooms.set(room, (members = new Set()));
  members.add(ws);
  ws.on('message', (data) => {
    const frame = JSON.parse(data.toString()) as { body: string };
    store?.(room, frame.body);
    const bytes = Buffer.from(JSON.stringify({ type: 'message', room, body: frame.body }));
    for (const member of members) if (member.readyState === member.OPEN) write(member, bytes);
  });
  ws.on('close', () => members.delete(ws));
  ws.on('error', () => undefined);
  ws.send('{"type":"hello"}');
});
wss.on('listening', () => {
  const address = wss.address();
  console.log(`floor listening ${typeof address === 'string' ? address : address?.port}`);
});
process.on('SIGTERM', () => process.exit(0));
