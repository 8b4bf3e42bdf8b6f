/**
 * The raw floor (docs/benchmarking.md W0): a `ws` relay with no logic. A client names its room in the query string
 * (`/?room=R`); every text frame it sends is parsed once, serialized once, and written to every member of that room
 * (the sender too, as natter does): serialized once to UTF-8 bytes, as natter encodes a shared push once.
 * `--coalesce` corks each socket for the rest of the event-loop turn and uncorks them all with one setImmediate,
 * natter's own write-coalescing (`corkForThisTurn`, imported from src/transport/ws/socket-writes.ts).
 *
 *   tsx bench/servers/floor.ts [--coalesce] [--port 0]     prints "floor listening <port>"
 */
import { parseArgs } from 'node:util';
import { WebSocketServer, type WebSocket } from 'ws';
import { corkForThisTurn, socketOf } from '../../src/transport/ws/socket-writes.js';

const { values } = parseArgs({ options: { coalesce: { type: 'boolean', default: false }, port: { type: 'string', default: '0' } } });
const coalesce = values.coalesce;
const rooms = new Map<string, Set<WebSocket>>();

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
