/** The SDK against a real natter: events, resume after a dropped socket and a restart, retries without duplicates. */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { NatterApi } from '../../client/http-api.js';
import type { NatterClient, StateChange } from '../../client/natter-client.js';
import type { WireMessage } from '../../src/protocol/frames.js';
import { PASSWORD, uniqueName } from '../support/server.js';
import { range } from '../support/ws-client.js';
import { startTcpProxy } from '../support/tcp-proxy.js';
import { makeClient, RestartableServer, until } from './support.js';

const server = new RestartableServer();
let api: NatterApi;
const clients: NatterClient[] = [];
beforeAll(async () => {
  await server.start();
  api = new NatterApi({ baseUrl: server.baseUrl });
});
afterEach(() => {
  for (const c of clients.splice(0)) c.close();
});
afterAll(() => server.dispose());

async function user(name = uniqueName('sdk')) {
  const pair = await api.register(name, PASSWORD);
  return { name, token: pair.access_token, id: pair.user.id };
}

function track(client: NatterClient) {
  clients.push(client);
  const messages: WireMessage[] = [];
  const states: StateChange[] = [];
  client.on('message', (m) => messages.push(m));
  client.on('state', (s) => states.push(s));
  const seqsOf = (room: string) => messages.filter((m) => m.room === room).map((m) => m.seq);
  return { client, messages, states, seqsOf };
}

describe('NatterClient', () => {
  it('authenticates with a first frame, joins, sends and emits typed events', async () => {
    const [ana, ben] = [await user(), await user()];
    const room = (await api.createRoom(ana.token, uniqueName('room'))).id;
    const a = track(makeClient(server.wsUrl, ana.token));
    const b = track(makeClient(server.wsUrl, ben.token));
    const hello = new Promise((resolve) => a.client.on('hello', resolve));
    a.client.connect();
    expect(await hello).toEqual({ id: ana.id, name: ana.name });
    const joined = await a.client.join(room);
    expect(joined).toMatchObject({ room, head: 1, from: 0 });
    await until(() => a.seqsOf(room).length === 1, 5_000, 'the system message');

    const presenceJoined = new Promise((resolve) => a.client.on('presence.joined', resolve));
    b.client.connect();
    await b.client.join(room);
    expect(await presenceJoined).toEqual({ room, user: { id: ben.id, name: ben.name } });

    const typing = new Promise((resolve) => a.client.on('typing', resolve));
    await b.client.typing(room);
    expect(await typing).toEqual({ room, user: { id: ben.id, name: ben.name } });
    expect((await a.client.presence(room)).map((u) => u.name).sort()).toEqual([ana.name, ben.name].sort());

    const ack = await b.client.send(room, 'hello ana', { clientMsgId: 'hi-1' });
    expect(ack).toMatchObject({ seq: 2, duplicate: false });
    await until(() => a.seqsOf(room).includes(2) && b.seqsOf(room).includes(2), 5_000, 'message 2 on both');
    expect(a.messages.at(-1)).toMatchObject({ body: 'hello ana', client_msg_id: 'hi-1', sender: { name: ben.name } });
    expect(b.client.pending()).toEqual([]);

    const left = new Promise((resolve) => a.client.on('presence.left', resolve));
    await b.client.leave(room);
    expect(await left).toEqual({ room, user: { id: ben.id, name: ben.name } });
    expect(a.states.map((s) => s.state)).toEqual(['connecting', 'connected']);
  });

  it('rejects commands with NatterError: error replies, unknown rooms, not joined, no connection', async () => {
    const ana = await user();
    const ben = await user();
    const secret = (await api.createRoom(ana.token, uniqueName('private'), 'private')).id;
    const b = track(makeClient(server.wsUrl, ben.token));
    b.client.connect();
    const errors: string[] = [];
    b.client.on('error', (e) => errors.push(e.code));
    await expect(b.client.join(secret)).rejects.toMatchObject({ code: 'ROOM_NOT_FOUND', temporary: false });
    expect(b.client.joinedRooms()).toEqual([]);
    await expect(b.client.send(secret, 'x')).rejects.toMatchObject({ code: 'NOT_JOINED' });
    expect(errors).toEqual(['ROOM_NOT_FOUND']);
    expect((await b.client.ping()).server_time).toMatch(/Z$/);
    const closed = makeClient(server.wsUrl, ben.token);
    await expect(closed.ping()).rejects.toMatchObject({ code: 'DISCONNECTED' });
  });

  it('reconnects after the network drops and resumes every room with no gap and no duplicate', async () => {
    const [ana, ben] = [await user(), await user()];
    const rooms = [(await api.createRoom(ana.token, uniqueName('r'))).id, (await api.createRoom(ana.token, uniqueName('r'))).id];
    const a = track(makeClient(server.wsUrl, ana.token));
    a.client.connect();
    for (const room of rooms) await a.client.join(room);
    const b = track(makeClient(server.wsUrl, ben.token));
    b.client.connect();
    for (const room of rooms) await b.client.join(room);
    for (const i of range(1, 5)) for (const room of rooms) await b.client.send(room, `before ${i}`);
    await until(() => rooms.every((r) => a.seqsOf(r).length === 6), 5_000, 'first batch');

    const rejoined = new Promise<void>((resolve) => a.client.on('joined', (_r, resumed) => resumed && resolve()));
    // Kill only ana's sockets? Both are cut: the server sees no close frame, the clients see 1006.
    server.killSockets();
    // While they are away, ben's sends wait in his outbox and go out after his own reconnect.
    const sends = range(6, 30).flatMap((i) => rooms.map((room) => b.client.send(room, `during ${i}`)));
    await Promise.all(sends);
    await rejoined;
    await until(() => rooms.every((r) => a.seqsOf(r).length === 31), 10_000, 'resume');
    for (const room of rooms) {
      expect(a.seqsOf(room)).toEqual(range(1, 31));
      expect(b.seqsOf(room)).toEqual(range(1, 31));
      expect(a.client.lastSeq(room)).toBe(31);
    }
    expect(a.states.map((s) => s.state)).toContain('reconnecting');
    expect(a.states.at(-1)?.state).toBe('connected');
    const history = await api.history(ana.token, rooms[0]!, { limit: 200 });
    expect(history.map((m) => m.seq)).toEqual(range(1, 31));
  });

  it('survives a server restart on the same port and database: pending sends are acked once', async () => {
    const [ana, ben] = [await user(), await user()];
    const room = (await api.createRoom(ana.token, uniqueName('restart'))).id;
    const a = track(makeClient(server.wsUrl, ana.token));
    const b = track(makeClient(server.wsUrl, ben.token));
    a.client.connect();
    b.client.connect();
    await a.client.join(room);
    await b.client.join(room);
    await a.client.send(room, 'one');
    await b.client.send(room, 'two');

    const down = new Promise<void>((resolve) => a.client.on('state', (s) => s.state === 'reconnecting' && resolve()));
    await server.stop(); // 1001 to every socket
    await down;
    const whileDown = [a.client.send(room, 'three', { clientMsgId: 'a-3' }), b.client.send(room, 'four', { clientMsgId: 'b-4' })];
    expect(a.client.pending(room).map((p) => p.clientMsgId)).toEqual(['a-3']);
    await server.start();
    const acks = await Promise.all(whileDown);
    expect(acks.map((x) => x.duplicate)).toEqual([false, false]);
    await until(() => a.seqsOf(room).length === 5 && b.seqsOf(room).length === 5, 10_000, 'all five on both');
    expect(a.seqsOf(room)).toEqual(range(1, 5));
    expect(b.seqsOf(room)).toEqual(range(1, 5));
    const bodies = (await api.history(ana.token, room)).map((m) => m.body);
    expect(bodies.slice(1, 3)).toEqual(['one', 'two']);
    expect(bodies.slice(3).sort()).toEqual(['four', 'three']);
  });

  it('times out commands, retries a send whose ack was lost, and never stores it twice', async () => {
    const ana = await user();
    const room = (await api.createRoom(ana.token, uniqueName('lost-ack'))).id;
    const proxy = await startTcpProxy(() => server.port);
    try {
      const a = track(makeClient(`ws://127.0.0.1:${proxy.port}/ws`, ana.token, { commandTimeoutMs: 1_000 }));
      a.client.connect();
      await a.client.join(room);
      await until(() => a.seqsOf(room).length === 1, 5_000, 'system message');
      proxy.dropDownstream(true); // the server commits and acks; the ack never arrives
      const acks: Array<{ duplicate: boolean }> = [];
      a.client.on('ack', (_p, r) => acks.push(r));
      await expect(a.client.request('ping', {}, 200)).rejects.toMatchObject({ code: 'TIMEOUT', temporary: true });
      const sent = a.client.send(room, 'exactly once', { clientMsgId: 'once-1' });
      await until(() => a.client.pending(room)[0]!.attempts >= 2, 10_000, 'a retry on the silent socket');
      proxy.dropDownstream(false);
      proxy.cut(); // and now the connection breaks too
      const ack = await sent;
      expect(ack).toMatchObject({ seq: 2, duplicate: true });
      await until(() => a.seqsOf(room).includes(2), 5_000, 'the message push');
      expect(a.messages.filter((m) => m.client_msg_id === 'once-1')).toHaveLength(1);
      const history = await api.history(ana.token, room);
      expect(history.filter((m) => m.body === 'exactly once')).toHaveLength(1);
      expect(acks).toHaveLength(1);
    } finally {
      await proxy.close();
    }
  });

  it('detects a silent connection with keep-alive pings and resumes without loss', async () => {
    const [ana, ben] = [await user(), await user()];
    const room = (await api.createRoom(ana.token, uniqueName('silent'))).id;
    const proxy = await startTcpProxy(() => server.port);
    try {
      const a = track(makeClient(`ws://127.0.0.1:${proxy.port}/ws`, ana.token, { keepAliveMs: 200, commandTimeoutMs: 300 }));
      const b = track(makeClient(server.wsUrl, ben.token));
      a.client.connect();
      b.client.connect();
      await a.client.join(room);
      await b.client.join(room);
      proxy.dropDownstream(true); // the TCP connection stays up, but nothing reaches ana any more
      const before = a.states.length;
      await b.client.send(room, 'into the void');
      // The state history, not the current state: with full jitter a reconnect may wait ~0 ms, too short to poll.
      await until(() => a.states.slice(before).some((s) => s.state === 'reconnecting'), 5_000, 'the keep-alive to notice');
      proxy.dropDownstream(false);
      await b.client.send(room, 'after the silence');
      await until(() => a.seqsOf(room).length === 3, 10_000, 'resume');
      expect(a.seqsOf(room)).toEqual([1, 2, 3]);
      expect(a.messages.map((m) => m.body).slice(1)).toEqual(['into the void', 'after the silence']);
    } finally {
      await proxy.close();
    }
  });

  it('refreshes the access token in band before it expires, without reconnecting', async () => {
    const short = new RestartableServer({ ACCESS_TOKEN_TTL_SECONDS: '30' });
    await short.start();
    try {
      const shortApi = new NatterApi({ baseUrl: short.baseUrl });
      let pair = await shortApi.register(uniqueName('fresh'), PASSWORD);
      const reasons: string[] = [];
      const c = track(
        makeClient(
          short.wsUrl,
          async ({ reason }) => {
            reasons.push(reason);
            if (reason !== 'connect') pair = await shortApi.refresh(pair.refresh_token);
            return pair.access_token;
          },
          { refreshLeadMs: 28_000 },
        ),
      );
      const errors: string[] = [];
      c.client.on('error', (e) => errors.push(e.code));
      c.client.connect();
      await until(() => reasons.length >= 2, 10_000, 'a refresh');
      expect(reasons.slice(0, 2)).toEqual(['connect', 'expiring']);
      await c.client.ping(); // the socket still works after the in-band auth
      expect(c.states.map((s) => s.state)).toEqual(['connecting', 'connected']);
      expect(errors).toEqual([]);
      c.client.close(); // before the server goes: a refresh in flight would hold its HTTP connection open
    } finally {
      for (const c of clients.splice(0)) c.close();
      await short.dispose();
    }
  }, 40_000);

  it('stops as unauthorized when the token is refused twice, and when getToken gives up', async () => {
    const bad = track(makeClient(server.wsUrl, 'not-a-jwt'));
    bad.client.connect();
    await until(() => bad.client.state === 'unauthorized', 5_000, 'unauthorized');
    expect(bad.states.at(-1)).toMatchObject({ state: 'unauthorized', closeCode: 1008 });

    const { NatterError } = await import('../../client/errors.js');
    const gone = track(
      makeClient(server.wsUrl, () => {
        throw new NatterError('TOKEN_INVALID', 'refresh token revoked', false);
      }),
    );
    gone.client.connect();
    await until(() => gone.client.state === 'unauthorized', 5_000, 'unauthorized');
  });
});
