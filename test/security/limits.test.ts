/**
 * A6, A7, F5, F6: frame violations, per-user rate limits, the room cap, heartbeat, and the slow consumer — each
 * without harming a healthy neighbour connection.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { socketOf } from '../../src/transport/ws/socket-writes.js';
import { createRoom, register, startServer, type TestServer, type TestUser } from '../support/server.js';
import { range, TestClient } from '../support/ws-client.js';
import { figure, latencyDuring } from './support.js';

describe('frames and per-user rates (A6, A7)', () => {
  let server: TestServer;
  let ana: TestUser;
  let ben: TestUser;
  let room: string;
  beforeAll(async () => {
    server = await startServer({
      MESSAGE_RATE_BURST: '30',
      MESSAGE_RATE_PER_SECOND: '10',
      TYPING_RATE_BURST: '10',
      TYPING_RATE_PER_SECOND: '2',
      WS_MAX_VIOLATIONS_PER_MINUTE: '20',
    });
    [ana, ben] = await Promise.all([register(server), register(server)]);
    room = await createRoom(server, ana);
  });
  afterAll(() => server.close());

  it('answers malformed frames with errors, then closes with 4500 after 20 in a minute; the neighbour is unaffected', async () => {
    const neighbour = await TestClient.connect(server.wsUrl, ben.accessToken);
    const bad = await TestClient.connect(server.wsUrl, ana.accessToken);
    for (let i = 0; i < 20; i++) bad.sendRaw(i % 2 ? '{not json' : JSON.stringify({ type: 'nope', id: `x${i}` }));
    await bad.call('ping'); // 20 violations answered, the connection still serves
    expect(bad.frames.filter((f) => f.type === 'error' || (f.type === 'reply' && f.ok === false))).toHaveLength(20);
    bad.sendRaw('{still not json');
    expect((await bad.closed).code).toBe(4500);
    expect((await neighbour.call('ping')).server_time).toBeTypeOf('string');
    await neighbour.close();
  });

  it('limits messages per user across the user’s sockets: a burst of 30, then RATE_LIMITED (temporary)', async () => {
    const tabs = await Promise.all([1, 2].map(() => TestClient.connect(server.wsUrl, ana.accessToken)));
    for (const t of tabs) await t.call('room.join', { room });
    const t0 = Date.now();
    const replies = await Promise.all(range(1, 60).map((i) => tabs[i % 2]!.request('message.send', { room, body: `m${i}`, client_msg_id: `rate-${i}` })));
    const elapsedS = (Date.now() - t0) / 1000;
    const accepted = replies.filter((r) => r.ok).length;
    const limited = replies.filter((r) => r.error?.code === 'RATE_LIMITED');
    expect(accepted).toBeGreaterThanOrEqual(30);
    expect(accepted).toBeLessThanOrEqual(30 + Math.ceil(10 * elapsedS) + 1); // the bucket refills at 10/s meanwhile
    expect(limited.length).toBe(60 - accepted);
    expect(limited[0]!.error.temporary).toBe(true);
    const t1 = Date.now();
    const typing = await Promise.all(range(1, 20).map(() => tabs[0]!.request('typing', { room })));
    const typingOk = typing.filter((r) => r.ok).length;
    expect(typingOk).toBeGreaterThanOrEqual(10);
    expect(typingOk).toBeLessThanOrEqual(10 + Math.ceil((2 * (Date.now() - t1)) / 1000) + 1);
    expect(typing.filter((r) => r.error?.code === 'RATE_LIMITED').length).toBe(20 - typingOk);
    await Promise.all(tabs.map((t) => t.close()));
  });

  it('allows at most 128 rooms per connection (LIMIT_EXCEEDED)', async () => {
    const owner = await register(server);
    const rooms = await Promise.all(range(1, 129).map((i) => createRoom(server, owner, `cap-${process.pid}-${i}`)));
    const c = await TestClient.connect(server.wsUrl, owner.accessToken);
    const replies = [];
    for (const r of rooms) replies.push(await c.request('room.join', { room: r }));
    expect(replies.slice(0, 128).every((r) => r.ok)).toBe(true);
    expect(replies[128]!.error.code).toBe('LIMIT_EXCEEDED');
    await c.call('room.leave', { room: rooms[0] });
    expect((await c.request('room.join', { room: rooms[128] })).ok).toBe(true);
    await c.close();
  });
});

describe('heartbeat (F5)', () => {
  it('terminates a peer that stops answering pings within interval + timeout, and its presence ends', async () => {
    const server = await startServer({ HEARTBEAT_INTERVAL_MS: '1000', HEARTBEAT_TIMEOUT_MS: '1000' });
    try {
      const [ana, ben] = await Promise.all([register(server), register(server)]);
      const room = await createRoom(server, ana);
      const watcher = await TestClient.connect(server.wsUrl, ana.accessToken);
      await watcher.call('room.join', { room });
      const ghost = await TestClient.connect(server.wsUrl, ben.accessToken, { autoPong: false } as never);
      await ghost.call('room.join', { room });
      // Cut off silently: no pongs (autoPong off), no frames; the socket stays open on the client side.
      const t0 = Date.now();
      const left = await watcher.nextNew((f) => f.type === 'presence.left' && (f.user as { id: string }).id === ben.id, 8_000);
      expect(left.room).toBe(room);
      expect(Date.now() - t0).toBeLessThan(1_000 + 1_000 + 1_500);
      expect((await watcher.call('presence.list', { room })).members.map((m: { id: string }) => m.id)).toEqual([ana.id]);
      await watcher.close();
      ghost.ws.terminate();
    } finally {
      await server.close();
    }
  });

  it('spreads the pings of connections that arrived together over the second half of the interval', async () => {
    const server = await startServer({ HEARTBEAT_INTERVAL_MS: '2000', HEARTBEAT_TIMEOUT_MS: '10000' });
    try {
      const user = await register(server);
      const t0 = Date.now();
      const clients = await Promise.all(range(1, 30).map(() => TestClient.connect(server.wsUrl, user.accessToken)));
      const connectedIn = Date.now() - t0;
      const pingedAfter = await Promise.all(clients.map((c) => new Promise<number>((resolve) => c.ws.once('ping', () => resolve(Date.now() - t0)))));
      // Quiet for 1–2 s, seen by sweeps 250 ms apart: 30 uniform draws all in two adjacent sweeps is ~1e-8.
      expect(Math.min(...pingedAfter)).toBeGreaterThanOrEqual(1_000 - 250);
      expect(Math.max(...pingedAfter)).toBeLessThanOrEqual(2_000 + 250 + connectedIn + 500);
      expect(Math.max(...pingedAfter) - Math.min(...pingedAfter)).toBeGreaterThanOrEqual(400);
      await Promise.all(clients.map((c) => c.close()));
    } finally {
      await server.close();
    }
  });
});

describe('slow consumer (F6)', () => {
  it('closes a socket that stops reading with 4001 once 1 MiB is queued; memory stays bounded; the neighbour keeps its latency', async () => {
    const server = await startServer({ MESSAGE_MAX_CHARS: '10000' });
    try {
      const [ana, ben, cid] = await Promise.all([register(server), register(server), register(server)]);
      const room = await createRoom(server, ana);
      const sender = await TestClient.connect(server.wsUrl, ana.accessToken);
      const neighbour = await TestClient.connect(server.wsUrl, ben.accessToken);
      for (const c of [sender, neighbour]) await c.call('room.join', { room });
      const body = 'x'.repeat(10_000);
      let sent = 0;
      const flood = async (messages: number) => {
        for (let i = 0; i < messages; i += 50) {
          await Promise.all(range(1, 50).map(() => sender.call('message.send', { room, body, client_msg_id: `f${++sent}` })));
        }
      };
      // Baseline: the same flood with every client reading.
      const baseline = await latencyDuring(neighbour, () => flood(400));

      const slow = await TestClient.connect(server.wsUrl, cid.accessToken);
      await slow.call('room.join', { room });
      const socket = socketOf(slow.ws)!;
      socket.pause(); // stops reading: the kernel buffers fill, then the server's queue
      const rss0 = process.memoryUsage().rss;
      const during = await latencyDuring(neighbour, () => flood(1_200)); // ~12 MB for the slow reader
      const rssGrowthMb = Math.round((process.memoryUsage().rss - rss0) / 1e6);
      socket.resume();
      const closed = await slow.closed;
      expect(closed.code).toBe(4001);
      const received = slow.messages(room).length;
      await neighbour.waitForSeq(room, sent + 1);
      figure('slow consumer', {
        slowReceivedBeforeClose: received,
        sentToRoom: sent,
        neighbourP99Baseline: baseline.p99,
        neighbourP99WithSlow: during.p99,
        rssGrowthMb,
      });
      expect(received).toBeLessThan(1_200);
      expect(rssGrowthMb).toBeLessThan(150);
      // Generous for a shared 2-core machine; a server stalled by the slow reader would add seconds.
      expect(during.p99).toBeLessThan(baseline.p99 * 3 + 100);
      await Promise.all([sender.close(), neighbour.close()]);
    } finally {
      await server.close();
    }
  }, 60_000);
});
