import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { SignJWT } from 'jose';
import { api, createRoom, register, startServer, TEST_JWT_SECRET, type TestServer, type TestUser } from '../support/server.js';
import { range, seqs, TestClient } from '../support/ws-client.js';

let server: TestServer;
let alice: TestUser;
let bob: TestUser;

beforeAll(async () => {
  server = await startServer({ AUTH_TIMEOUT_MS: '300' });
  [alice, bob] = await Promise.all([register(server), register(server)]);
});
afterAll(() => server.close());

describe('authentication', () => {
  it('accepts a token in the query string and says hello', async () => {
    const c = await TestClient.connect(server.wsUrl, alice.accessToken);
    const hello = await c.next((f) => f.type === 'hello');
    expect(hello.user).toEqual({ id: alice.id, name: alice.username });
    await c.close();
  });

  it('accepts an auth frame as the first frame and replies to it', async () => {
    const c = await TestClient.connect(server.wsUrl);
    const reply = await c.request('auth', { token: bob.accessToken });
    expect(reply.ok).toBe(true);
    await c.next((f) => f.type === 'hello');
    await c.close();
  });

  it.each([
    ['garbage', 'not-a-jwt'],
    ['tampered signature', () => alice.accessToken.slice(0, -4) + (alice.accessToken.endsWith('AAAA') ? 'BBBB' : 'AAAA')],
  ])('closes with 1008 for a bad token (%s) before any room data', async (_name, token) => {
    const t = typeof token === 'function' ? token() : token;
    const c = await TestClient.connect(server.wsUrl);
    c.ws.send(JSON.stringify({ type: 'auth', id: 'a', token: t }));
    const closed = await c.closed;
    expect(closed.code).toBe(1008);
    expect(closed.reason).toMatch(/token/);
    expect(c.frames).toEqual([]);
  });

  it('closes with 1008 for an expired token', async () => {
    const secret = new TextEncoder().encode(TEST_JWT_SECRET);
    const past = Math.floor(Date.now() / 1000) - 3600;
    const expired = await new SignJWT({ name: alice.username })
      .setProtectedHeader({ alg: 'HS256', typ: 'at+jwt' })
      .setSubject(alice.id)
      .setIssuer('natter')
      .setAudience('natter')
      .setIssuedAt(past - 900)
      .setExpirationTime(past)
      .sign(secret);
    const ws = new WebSocket(`${server.wsUrl}?token=${expired}`);
    const c = new TestClient(ws);
    expect((await c.closed).code).toBe(1008);
    expect(c.frames).toEqual([]);
  });

  it('closes with 1008 when the first frame is not auth, and when no auth arrives in time', async () => {
    const a = await TestClient.connect(server.wsUrl);
    a.ws.send(JSON.stringify({ type: 'room.join', id: '1', room: 'x' }));
    expect((await a.closed).code).toBe(1008);
    const b = await TestClient.connect(server.wsUrl);
    const closed = await b.closed;
    expect(closed).toEqual({ code: 1008, reason: 'authentication timeout' });
  });

  it('refuses upgrades on other paths', async () => {
    const ws = new WebSocket(server.wsUrl.replace('/ws', '/nope'));
    const status = await new Promise<number>((resolve) => ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0)));
    expect(status).toBe(404);
  });
});

describe('chat between two users', () => {
  it('join, chat both ways, presence, typing, leave and drop', async () => {
    const room = await createRoom(server, alice);
    const a = await TestClient.connect(server.wsUrl, alice.accessToken);
    const b = await TestClient.connect(server.wsUrl, bob.accessToken);

    const ja = await a.call('room.join', { room });
    expect(ja).toMatchObject({ room, head: 1, from: 0 });
    await a.waitForSeq(room, 1); // the "created the room" system message
    expect(a.messages(room)[0]).toMatchObject({ seq: 1, type: 'system' });

    const joinedSeen = a.nextNew((f) => f.type === 'presence.joined' && (f.user as any).id === bob.id);
    const jb = await b.call('room.join', { room });
    expect(jb.members.map((m: any) => m.id).sort()).toEqual([alice.id, bob.id].sort());
    await joinedSeen;

    const ack = await a.call('message.send', { room, body: 'hi bob 👋', client_msg_id: 'a-1' });
    expect(ack).toMatchObject({ seq: 2, duplicate: false });
    expect(Date.parse(ack.created_at)).not.toBeNaN();
    await b.waitForSeq(room, 2);
    const got = b.messages(room).find((m) => m.seq === 2)!;
    expect(got).toMatchObject({ id: ack.id, body: 'hi bob 👋', sender: { id: alice.id, name: alice.username }, type: 'text', client_msg_id: 'a-1' });

    await b.call('message.send', { room, body: 'hello alice', client_msg_id: 'b-1' });
    await a.waitForSeq(room, 3);
    expect(seqs(a, room)).toEqual([1, 2, 3]);
    expect(seqs(b, room)).toEqual([1, 2, 3]);

    const typing = a.nextNew((f) => f.type === 'typing');
    await b.call('typing', { room });
    expect(await typing).toMatchObject({ room, user: { id: bob.id } });
    expect(b.frames.some((f) => f.type === 'typing')).toBe(false);

    const who = await a.call('presence.list', { room });
    expect(who.members).toHaveLength(2);

    // Bob leaves explicitly, rejoins, then his socket just drops: both produce presence.left.
    const left1 = a.nextNew((f) => f.type === 'presence.left' && (f.user as any).id === bob.id);
    await b.call('room.leave', { room });
    await left1;
    await b.call('room.join', { room, since: 3 });
    const left2 = a.nextNew((f) => f.type === 'presence.left' && (f.user as any).id === bob.id);
    b.ws.terminate();
    await left2;
    expect((await a.call('presence.list', { room })).members.map((m: any) => m.id)).toEqual([alice.id]);
    await a.close();
  });

  it('counts a user once across several connections; leaves when the last goes', async () => {
    const room = await createRoom(server, alice);
    const watcher = await TestClient.connect(server.wsUrl, alice.accessToken);
    await watcher.call('room.join', { room });
    const tab1 = await TestClient.connect(server.wsUrl, bob.accessToken);
    const tab2 = await TestClient.connect(server.wsUrl, bob.accessToken);
    await tab1.call('room.join', { room });
    await tab2.call('room.join', { room });
    expect((await watcher.call('presence.list', { room })).members).toHaveLength(2);
    await tab1.close();
    await watcher.call('ping');
    expect((await watcher.call('presence.list', { room })).members).toHaveLength(2);
    const left = watcher.nextNew((f) => f.type === 'presence.left');
    await tab2.close();
    await left;
    expect(watcher.frames.filter((f) => f.type === 'presence.joined' && (f.user as any).id === bob.id)).toHaveLength(1);
    expect(watcher.frames.filter((f) => f.type === 'presence.left' && (f.user as any).id === bob.id)).toHaveLength(1);
    await watcher.close();
  });
});

describe('delivery guarantees on one node', () => {
  it('a retried client_msg_id returns the first ack and stores nothing new (D3)', async () => {
    const room = await createRoom(server, alice);
    const a = await TestClient.connect(server.wsUrl, alice.accessToken);
    await a.call('room.join', { room });
    const acks = await Promise.all(range(1, 5).map(() => a.call('message.send', { room, body: 'once', client_msg_id: 'same' })));
    expect(new Set(acks.map((x) => x.id)).size).toBe(1);
    expect(acks.filter((x) => !x.duplicate)).toHaveLength(1);
    const again = await a.call('message.send', { room, body: 'once', client_msg_id: 'same' });
    expect(again).toMatchObject({ id: acks[0].id, seq: acks[0].seq, duplicate: true });
    const history = await api<{ messages: unknown[] }>(server, 'GET', `/api/rooms/${room}/messages`, alice.accessToken);
    expect(history.body.messages).toHaveLength(2); // system + one
    await a.close();
  });

  it('parallel senders on one room: seqs 1..N with no hole, every client sees 1..N in order (D2, D4)', async () => {
    const room = await createRoom(server, alice);
    const clients = await Promise.all([alice, bob, alice, bob].map((u) => TestClient.connect(server.wsUrl, u.accessToken)));
    await Promise.all(clients.map((c) => c.call('room.join', { room })));
    const perClient = 50;
    const acks = await Promise.all(
      clients.flatMap((c, ci) => range(1, perClient).map((i) => c.call('message.send', { room, body: `m${ci}-${i}`, client_msg_id: `c${ci}-${i}` }))),
    );
    const total = 1 + clients.length * perClient;
    expect(acks.map((x) => x.seq).sort((x, y) => x - y)).toEqual(range(2, total));
    await Promise.all(clients.map((c) => c.waitForSeq(room, total)));
    for (const c of clients) expect(seqs(c, room)).toEqual(range(1, total));
    await Promise.all(clients.map((c) => c.close()));
  });

  it('resume with since=seq after an absence yields exactly the missed messages, paged, then live (D6)', async () => {
    const room = await createRoom(server, alice);
    const a = await TestClient.connect(server.wsUrl, alice.accessToken);
    await a.call('room.join', { room });
    const missed = 1_000; // > 5 catch-up pages
    for (let i = 0; i < missed; i += 100) {
      await Promise.all(range(i + 1, i + 100).map((n) => a.call('message.send', { room, body: `n${n}`, client_msg_id: `r${n}` })));
    }
    const b = await TestClient.connect(server.wsUrl, bob.accessToken);
    const joined = await b.call('room.join', { room, since: 1 });
    expect(joined).toMatchObject({ from: 1, head: missed + 1 });
    await b.waitForSeq(room, missed + 1);
    await a.call('message.send', { room, body: 'live', client_msg_id: 'live' });
    await b.waitForSeq(room, missed + 2);
    expect(seqs(b, room)).toEqual(range(2, missed + 2));
    await Promise.all([a.close(), b.close()]);
  });

  it('joining while others send at full rate leaves no gap at the seam between history and live (D7)', async () => {
    const room = await createRoom(server, alice);
    const sender = await TestClient.connect(server.wsUrl, alice.accessToken);
    await sender.call('room.join', { room });
    let sent = 1;
    let stop = false;
    const pump = (async () => {
      while (!stop) {
        await Promise.all(range(1, 20).map(() => sender.call('message.send', { room, body: 'x', client_msg_id: `p${++sent}` })));
      }
    })();
    await sender.waitForSeq(room, 100);
    const joiners = await Promise.all(range(1, 5).map(() => TestClient.connect(server.wsUrl, bob.accessToken)));
    const results = [];
    for (const j of joiners) results.push(await j.call('room.join', { room, since: 0 }));
    stop = true;
    await pump;
    const head = sent;
    await Promise.all(joiners.map((j) => j.waitForSeq(room, head)));
    for (const j of joiners) expect(seqs(j, room)).toEqual(range(1, head));
    // Without since: the last HISTORY_ON_JOIN (50) messages, then live.
    const late = await TestClient.connect(server.wsUrl, bob.accessToken);
    const r = await late.call('room.join', { room });
    expect(r.from).toBe(head - 50);
    await late.waitForSeq(room, head);
    expect(seqs(late, room)).toEqual(range(head - 49, head));
    await Promise.all([sender, late, ...joiners].map((c) => c.close()));
  });
});

describe('bad input', () => {
  it('answers each mistake with its documented code and keeps the connection and its neighbour healthy', async () => {
    const priv = await createRoom(server, alice, undefined, 'private');
    const pub = await createRoom(server, alice);
    const c = await TestClient.connect(server.wsUrl, bob.accessToken);
    const neighbour = await TestClient.connect(server.wsUrl, alice.accessToken);
    await neighbour.call('room.join', { room: pub });

    c.sendRaw('{not json');
    expect((await c.nextNew((f) => f.type === 'error')).error).toMatchObject({ code: 'MALFORMED_FRAME' });
    c.sendRaw('[1,2]');
    expect((await c.nextNew((f) => f.type === 'error')).error).toMatchObject({ code: 'MALFORMED_FRAME' });
    const cases: Array<[string, Record<string, unknown>, string]> = [
      ['nope.nope', {}, 'UNKNOWN_COMMAND'],
      ['room.join', {}, 'VALIDATION_FAILED'],
      ['room.join', { room: pub, extra: 1 }, 'VALIDATION_FAILED'],
      ['room.join', { room: 'does-not-exist' }, 'ROOM_NOT_FOUND'],
      ['room.join', { room: priv }, 'ROOM_NOT_FOUND'],
      ['presence.list', { room: priv }, 'ROOM_NOT_FOUND'],
      ['message.send', { room: pub, body: 'x', client_msg_id: 'k1' }, 'NOT_JOINED'],
      ['message.send', { room: pub, body: 'x' }, 'VALIDATION_FAILED'],
      ['room.leave', { room: pub }, 'NOT_JOINED'],
      ['typing', { room: pub }, 'NOT_JOINED'],
    ];
    for (const [type, fields, code] of cases) {
      const reply = await c.request(type, fields);
      expect(reply.ok, `${type} ${JSON.stringify(fields)}`).toBe(false);
      expect(reply.error.code, `${type} ${JSON.stringify(fields)}`).toBe(code);
    }
    await c.call('room.join', { room: pub });
    for (const [body, why] of [['', 'empty'], ['a\u0000b', 'NUL'], ['\ud800x', 'lone surrogate'], ['x'.repeat(4001), 'too long']] as Array<[string, string]>) {
      const reply = await c.request('message.send', { room: pub, body, client_msg_id: `bad-${why.replace(/ /g, '-')}` });
      expect(reply.error?.code, why).toBe('VALIDATION_FAILED');
    }
    const exact = '<img src=x onerror=alert(1)> "quotes" & \n\t émoji 🎉 עברית';
    const ok = await c.call('message.send', { room: pub, body: exact, client_msg_id: 'exact' });
    await neighbour.waitForSeq(pub, ok.seq);
    expect(neighbour.messages(pub).find((m) => m.seq === ok.seq)?.body).toBe(exact);
    await c.close();
    await neighbour.close();
  });

  it('closes 1009 for a frame over 64 KiB, 1003 for binary, 1007 for invalid UTF-8 — the neighbour is unaffected', async () => {
    const room = await createRoom(server, alice);
    const neighbour = await TestClient.connect(server.wsUrl, alice.accessToken);
    await neighbour.call('room.join', { room });

    const big = await TestClient.connect(server.wsUrl, bob.accessToken);
    big.sendRaw(JSON.stringify({ type: 'ping', id: '1', pad: 'x'.repeat(70 * 1024) }));
    expect((await big.closed).code).toBe(1009);

    const bin = await TestClient.connect(server.wsUrl, bob.accessToken);
    bin.sendRaw(Buffer.from([1, 2, 3]), true);
    expect((await bin.closed).code).toBe(1003);

    const utf = await TestClient.connect(server.wsUrl, bob.accessToken);
    utf.ws.send(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), { binary: false });
    expect((await utf.closed).code).toBe(1007);

    const ack = await neighbour.call('message.send', { room, body: 'still here', client_msg_id: 'n1' });
    await neighbour.waitForSeq(room, ack.seq);
    await neighbour.close();
  });
});
