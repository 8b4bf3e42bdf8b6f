/**
 * The Socket.IO reference (docs/benchmarking.md): Socket.IO 4 + @socket.io/redis-adapter, a minimal chat server doing
 * the work a Node user would write: a JWT (HS256, the same secret natter uses) checked at the handshake, `join` with
 * an ack, and `msg` → `io.to(room).emit('m', …)` through the Redis adapter. Websocket transport only.
 *
 *   REDIS_URL=redis://127.0.0.1:6379 JWT_SECRET=… tsx bench/servers/socketio.ts     prints "socketio listening <port>"
 */
import { createServer } from 'node:http';
import { createAdapter } from '@socket.io/redis-adapter';
import { jwtVerify } from 'jose';
import { createClient } from 'redis';
import { Server } from 'socket.io';

const secret = new TextEncoder().encode(process.env.JWT_SECRET ?? '');
const http = createServer();
const io = new Server(http, { transports: ['websocket'], perMessageDeflate: false, serveClient: false, maxHttpBufferSize: 64 * 1024 });

if (process.env.REDIS_URL) {
  const pub = createClient({ url: process.env.REDIS_URL });
  const sub = pub.duplicate();
  pub.on('error', (err: Error) => console.error('redis', err.message));
  sub.on('error', (err: Error) => console.error('redis', err.message));
  await Promise.all([pub.connect(), sub.connect()]);
  io.adapter(createAdapter(pub, sub, { key: process.env.REDIS_PREFIX ?? 'bench-sio' }));
}

io.use((socket, next) => {
  const token = (socket.handshake.auth as { token?: string }).token;
  if (!token) return next(new Error('unauthenticated'));
  jwtVerify(token, secret, { issuer: 'natter', audience: 'natter' }).then(
    ({ payload }) => {
      socket.data.user = { id: payload.sub, name: payload.name };
      next();
    },
    () => next(new Error('token invalid')),
  );
});

io.on('connection', (socket) => {
  socket.on('join', (room: unknown, ack: unknown) => {
    if (typeof room !== 'string' || typeof ack !== 'function') return;
    void socket.join(room);
    ack({ ok: true });
  });
  socket.on('msg', (frame: { room?: unknown; body?: unknown }) => {
    if (typeof frame?.room !== 'string' || typeof frame.body !== 'string' || !socket.rooms.has(frame.room)) return;
    io.to(frame.room).emit('m', { room: frame.room, sender: socket.data.user, body: frame.body });
  });
});

http.listen(0, '127.0.0.1', () => {
  const address = http.address();
  console.log(`socketio listening ${typeof address === 'string' ? address : address?.port}`);
});
process.on('SIGTERM', () => process.exit(0));
