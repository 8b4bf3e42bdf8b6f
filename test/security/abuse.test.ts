/**
 * Abuse tests with figures (printed as `[abuse] …` lines): what was accepted, refused and closed, and a healthy
 * neighbour's ping p99 during each. The server runs the default limits (docs/security.md).
 */
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asRoomId, asUserId } from '../../src/core/types.js';
import { api, createRoom, PASSWORD, register, startServer, type TestServer, type TestUser } from '../support/server.js';
import { range, TestClient } from '../support/ws-client.js';
import { figure, latencyDuring } from './support.js';

/** The shipped defaults (test/support/server.ts loosens them for functional tests). */
const DEFAULTS = {
  WS_MAX_CONNECTIONS_PER_IP: '200',
  WS_MAX_CONNECTIONS_PER_USER: '20',
  WS_CONNECT_BURST: '20',
  WS_CONNECTS_PER_SECOND: '10',
  MESSAGE_RATE_BURST: '30',
  MESSAGE_RATE_PER_SECOND: '10',
  TYPING_RATE_BURST: '10',
  TYPING_RATE_PER_SECOND: '2',
  AUTH_RATE_BURST: '30',
  AUTH_RATE_PER_SECOND: '1',
};

let server: TestServer;
let ana: TestUser;
let ben: TestUser;
let victim: TestUser;
let room: string;
let neighbour: TestClient;

beforeAll(async () => {
  server = await startServer(DEFAULTS);
  [ana, ben, victim] = await Promise.all([register(server), register(server), register(server)]);
  room = await createRoom(server, ana);
  neighbour = await TestClient.connect(server.wsUrl, ben.accessToken);
  await neighbour.call('room.join', { room });
});
afterAll(async () => {
  await neighbour?.close();
  await server?.close();
});

type Outcome = 'accepted' | 'refused' | 'closed';
const tally = (outcomes: Outcome[]) => ({
  accepted: outcomes.filter((o) => o === 'accepted').length,
  refused: outcomes.filter((o) => o === 'refused').length,
  closed: outcomes.filter((o) => o === 'closed').length,
});

describe('abuse (figures in the output)', () => {
  it('raw-socket frame battery: each hostile frame gets its documented answer; the neighbour is unaffected', async () => {
    const cases: Array<[string, (c: TestClient) => void, number | 'error']> = [
      ['binary frame', (c) => c.sendRaw(Buffer.from([0, 1, 2]), true), 1003],
      ['invalid UTF-8', (c) => c.ws.send(Buffer.from([0x22, 0xc3, 0x28, 0x22]), { binary: false }), 1007],
      ['65 KiB frame', (c) => c.sendRaw(`"${'x'.repeat(65 * 1024)}"`), 1009],
      ['100 KB of emoji', (c) => c.sendRaw(JSON.stringify({ type: 'message.send', id: 'e', room, body: '😀'.repeat(25_000), client_msg_id: 'e1' })), 1009],
      ['malformed JSON', (c) => c.sendRaw('{"type":'), 'error'],
      ['JSON array', (c) => c.sendRaw('[[[[[[[[[[]]]]]]]]]]'), 'error'],
      ['deep nesting', (c) => c.sendRaw(`${'['.repeat(5_000)}${']'.repeat(5_000)}`), 'error'],
      ['unknown type', (c) => c.sendRaw(JSON.stringify({ type: '__proto__', id: 'p' })), 'error'],
      ['prototype pollution', (c) => c.sendRaw('{"type":"ping","id":"x","__proto__":{"admin":true}}'), 'error'],
      ['negative since', (c) => c.sendRaw(JSON.stringify({ type: 'room.join', id: 'h', room, since: -1 })), 'error'],
    ];
    const outcomes: Outcome[] = [];
    const { p99, p50 } = await latencyDuring(neighbour, async () => {
      for (const [name, send, expected] of cases) {
        const c = await TestClient.connect(server.wsUrl, ana.accessToken);
        send(c);
        if (expected === 'error') {
          const answer = await c.nextNew((f) => f.type === 'error' || (f.type === 'reply' && f.ok === false));
          expect(answer, name).toBeTruthy();
          outcomes.push('refused');
          await c.close();
        } else {
          expect((await c.closed).code, name).toBe(expected);
          outcomes.push('closed');
        }
      }
      // Not even a WebSocket: garbage on the TCP port gets an HTTP error, never a crash.
      const garbage = await new Promise<string>((resolve) => {
        const s = connect(Number(new URL(server.baseUrl).port), '127.0.0.1', () => s.write('\x16\x03\x01garbage\r\n\r\n'));
        let text = '';
        s.on('data', (d) => (text += d.toString()));
        s.on('close', () => resolve(text));
        s.on('error', () => resolve(text));
      });
      expect(garbage).toMatch(/^HTTP\/1\.1 400/);
      outcomes.push('refused');
    });
    figure('raw frame battery', { frames: cases.length + 1, ...tally(outcomes), neighbourP50ms: p50, neighbourP99ms: p99 });
    expect(tally(outcomes).accepted).toBe(0);
  });

  it('a flood of 1,000 messages in 1 s from one socket: the burst passes, the rest is RATE_LIMITED', async () => {
    const c = await TestClient.connect(server.wsUrl, ana.accessToken);
    await c.call('room.join', { room });
    const outcomes: Outcome[] = [];
    const t0 = Date.now();
    const { p50, p99 } = await latencyDuring(neighbour, async () => {
      const replies = [];
      for (let i = 0; i < 1_000; i++) {
        replies.push(c.request('message.send', { room, body: `flood ${i}`, client_msg_id: `flood-${i}` }, 15_000));
        if (i % 100 === 99) await new Promise((resolve) => setTimeout(resolve, Math.max(0, t0 + (i + 1) - Date.now())));
      }
      for (const r of await Promise.all(replies)) outcomes.push(r.ok ? 'accepted' : r.error?.code === 'RATE_LIMITED' ? 'refused' : 'closed');
    });
    const t = tally(outcomes);
    figure('flood 1000 msgs/1 s', { ...t, neighbourP50ms: p50, neighbourP99ms: p99 });
    expect(t.accepted).toBeGreaterThanOrEqual(30);
    expect(t.accepted).toBeLessThanOrEqual(30 + Math.ceil((10 * (Date.now() - t0)) / 1000) + 1); // burst 30 + 10/s while it lasts
    expect(t.refused).toBe(1_000 - t.accepted);
    await c.close();
  }, 30_000);

  it('500 joins on one connection: 128 rooms at most', async () => {
    const owner = asUserId(ana.id);
    const rooms = range(1, 500).map((i) => asRoomId(`abuse-${process.pid}-${i}`));
    for (const id of rooms) await server.natter.store.createRoom({ id, name: id, visibility: 'public', ownerId: owner, createdAt: Date.now() });
    const c = await TestClient.connect(server.wsUrl, ben.accessToken);
    const outcomes: Outcome[] = [];
    const { p50, p99 } = await latencyDuring(neighbour, async () => {
      for (const id of rooms) {
        const r = await c.request('room.join', { room: id });
        outcomes.push(r.ok ? 'accepted' : 'refused');
        if (!r.ok) expect(r.error.code).toBe('LIMIT_EXCEEDED');
      }
    });
    const t = tally(outcomes);
    figure('500 joins', { ...t, neighbourP50ms: p50, neighbourP99ms: p99 });
    expect(t).toEqual({ accepted: 128, refused: 372, closed: 0 });
    await c.close();
  }, 30_000);

  it('injection strings: stored byte-exact or refused with VALIDATION_FAILED, never interpreted', async () => {
    const dan = await register(server); // a fresh user: ana's message bucket was spent by the flood
    const c = await TestClient.connect(server.wsUrl, dan.accessToken);
    await c.call('room.join', { room });
    const bodies: Array<[string, string, 'stored' | 'refused']> = [
      ['HTML', '<script>alert(1)</script><img src=x onerror=alert(2)>', 'stored'],
      ['SQL', "'; DROP TABLE messages; -- \" OR 1=1", 'stored'],
      ['path', '../../../../etc/passwd', 'stored'],
      ['RTL override', 'abc\u202Egnp.exe', 'stored'],
      ['NUL', 'a\u0000b', 'refused'],
      ['lone surrogate', 'x\ud800y', 'refused'],
      ['4,000 emoji', '😀'.repeat(4_000), 'stored'],
      ['4,001 emoji', '😀'.repeat(4_001), 'refused'],
    ];
    const outcomes: Outcome[] = [];
    const { p50, p99 } = await latencyDuring(neighbour, async () => {
      for (const [name, body, expected] of bodies) {
        const r = await c.request('message.send', { room, body, client_msg_id: `inj-${outcomes.length}` });
        if (expected === 'refused') {
          expect(r.error?.code, name).toBe('VALIDATION_FAILED');
          outcomes.push('refused');
          continue;
        }
        expect(r.ok, name).toBe(true);
        await neighbour.waitForSeq(room, r.data.seq);
        expect(neighbour.messages(room).find((m) => m.seq === r.data.seq)?.body, name).toBe(body);
        outcomes.push('accepted');
      }
      // The same strings as room names over HTTP: stored as given (trimmed) or refused; never a path.
      for (const name of ['../../etc', '<b>room</b>', "x'; drop table rooms;--", 'a\u0000b', 'bad\ud800', '\u202Eevil']) {
        const res = await api<{ name?: string; error?: { code: string } }>(server, 'POST', '/api/rooms', dan.accessToken, { name: `${name}${outcomes.length}` });
        outcomes.push(res.status === 201 ? 'accepted' : 'refused');
        if (res.status === 201) expect(res.body.name).toBe(`${name}${outcomes.length - 1}`);
        else expect(res.body.error?.code).toBe('VALIDATION_FAILED');
      }
    });
    const history = await api<{ messages: unknown[] }>(server, 'GET', `/api/rooms/${room}/messages?limit=5`, dan.accessToken);
    expect(history.status).toBe(200);
    figure('injection strings', { ...tally(outcomes), neighbourP50ms: p50, neighbourP99ms: p99 });
    await c.close();
  });

  it('a login brute force of 200 attempts gets nowhere', async () => {
    const outcomes: Outcome[] = [];
    const statuses: Record<number, number> = {};
    const { p50, p99 } = await latencyDuring(neighbour, async () => {
      for (let i = 0; i < 200; i++) {
        const password = i === 150 ? PASSWORD : `guess-${i}-${'x'.repeat(8)}`;
        const res = await api(server, 'POST', '/api/auth/login', undefined, { username: victim.username, password });
        statuses[res.status] = (statuses[res.status] ?? 0) + 1;
        outcomes.push(res.status === 200 ? 'accepted' : 'refused');
      }
    });
    const t = tally(outcomes);
    figure('login brute force 200', { ...t, http401: statuses[401] ?? 0, http429: statuses[429] ?? 0, neighbourP50ms: p50, neighbourP99ms: p99 });
    expect(t.accepted).toBe(0); // even the right password at attempt 150 is throttled
    expect(statuses[401]).toBeLessThanOrEqual(10);
    expect(statuses[429]).toBeGreaterThanOrEqual(190);
  }, 30_000);
});
