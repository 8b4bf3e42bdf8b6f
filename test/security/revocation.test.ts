/**
 * A4, A5 across instances: logout, password change and admin revoke close every socket of the user on every
 * instance within 1 s (4003) and their old access tokens are refused; kick and ban end live subscriptions on every
 * instance at once and bar rejoining. Two natter instances share a Redis prefix (control channel) and a SQLite file.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { api, createRoom, PASSWORD, register, startServer, type TestServer, type TestUser } from '../support/server.js';
import { range, TestClient, type Closed } from '../support/ws-client.js';
import { deletePrefix, redisAvailable, TEST_REDIS_URL, uniquePrefix } from '../support/redis.js';
import { openSqlStore } from '../../src/adapters/sql/sql-database.js';
import { asRoomId, asUserId } from '../../src/core/types.js';

const hasRedis = await redisAvailable();
const ADMIN_TOKEN = 'admin-token-admin-token-admin-token-0123';

describe.skipIf(!hasRedis)('revocation and removal on every instance (Redis control channel)', () => {
  let a: TestServer;
  let b: TestServer;
  const dir = mkdtempSync(join(tmpdir(), 'natter-revoke-'));
  const prefix = uniquePrefix();

  beforeAll(async () => {
    const env = { DATABASE_URL: `sqlite:${join(dir, 'natter.db')}`, REDIS_URL: TEST_REDIS_URL, REDIS_PREFIX: prefix, ADMIN_TOKEN };
    a = await startServer(env);
    b = await startServer(env);
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await deletePrefix(prefix);
    rmSync(dir, { recursive: true, force: true });
  });

  /** Opens sockets for `user` on both instances, plus a bystander; answers their close promises. */
  async function sockets(user: TestUser) {
    const mine = await Promise.all([a, b, b].map((s) => TestClient.connect(s.wsUrl, user.accessToken)));
    return mine;
  }

  async function closedWithin(clients: TestClient[], ms: number): Promise<Closed[]> {
    return Promise.all(
      clients.map((c) =>
        Promise.race([c.closed, new Promise<Closed>((_, reject) => setTimeout(() => reject(new Error(`socket still open after ${ms} ms`)), ms))]),
      ),
    );
  }

  it('logout closes every socket of the user on both instances within 1 s; old access tokens are refused', async () => {
    const ana = await register(a);
    const bystander = await register(a);
    const other = await TestClient.connect(b.wsUrl, bystander.accessToken);
    const open = await sockets(ana);
    const t0 = Date.now();
    expect((await api(a, 'POST', '/api/auth/logout', undefined, { refresh_token: ana.refreshToken })).status).toBe(204);
    const closed = await closedWithin(open, 1_000);
    const elapsed = Date.now() - t0;
    expect(closed.map((c) => c.code)).toEqual([4003, 4003, 4003]);
    expect(elapsed).toBeLessThan(1_000);
    await other.call('ping'); // the bystander is untouched
    const again = new TestClient(new WebSocket(`${b.wsUrl}?token=${ana.accessToken}`));
    expect((await again.closed).code).toBe(1008);
    expect((await api(b, 'GET', '/api/me', ana.accessToken)).status).toBe(401);
    expect((await api(b, 'POST', '/api/auth/refresh', undefined, { refresh_token: ana.refreshToken })).status).toBe(401);
    await other.close();
  });

  it('a password change closes every socket everywhere, refuses the old tokens and password, and answers a working pair', async () => {
    const ana = await register(a);
    const open = await sockets(ana);
    const changed = await api<{ access_token: string; refresh_token: string }>(b, 'POST', '/api/auth/password', ana.accessToken, {
      current_password: PASSWORD,
      new_password: 'a completely new passphrase',
    });
    expect(changed.status).toBe(200);
    // The revocation happens before the answer (after hashing the new password): within 1 s of the answer at the latest.
    expect((await closedWithin(open, 1_000)).map((c) => c.code)).toEqual([4003, 4003, 4003]);
    expect((await api(a, 'GET', '/api/me', ana.accessToken)).status).toBe(401);
    expect((await api(a, 'POST', '/api/auth/refresh', undefined, { refresh_token: ana.refreshToken })).status).toBe(401);
    expect((await api(a, 'GET', '/api/me', changed.body.access_token)).status).toBe(200);
    const fresh = await TestClient.connect(a.wsUrl, changed.body.access_token);
    expect((await api(a, 'POST', '/api/auth/login', undefined, { username: ana.username, password: PASSWORD })).status).toBe(401);
    expect((await api(a, 'POST', '/api/auth/login', undefined, { username: ana.username, password: 'a completely new passphrase' })).status).toBe(200);
    const wrong = await api(a, 'POST', '/api/auth/password', changed.body.access_token, { current_password: 'not the password at all', new_password: 'x'.repeat(20) });
    expect(wrong.status).toBe(401);
    const weak = await api<{ error: { code: string } }>(a, 'POST', '/api/auth/password', changed.body.access_token, { current_password: 'a completely new passphrase', new_password: 'short' });
    expect(weak.body.error.code).toBe('WEAK_PASSWORD');
    await fresh.close();
  });

  it('an admin revoke (admin token) closes every socket everywhere within 1 s and kills the refresh tokens', async () => {
    const ana = await register(a);
    const open = await sockets(ana);
    expect((await fetch(`${a.baseUrl}/api/admin/users/${ana.username}/revoke`, { method: 'POST', headers: { authorization: 'Bearer nope' } })).status).toBe(401);
    const t0 = Date.now();
    const res = await fetch(`${a.baseUrl}/api/admin/users/${ana.username}/revoke`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    expect(res.status).toBe(200);
    expect((await closedWithin(open, 1_000)).map((c) => c.code)).toEqual([4003, 4003, 4003]);
    expect(Date.now() - t0).toBeLessThan(1_000);
    expect((await api(b, 'POST', '/api/auth/refresh', undefined, { refresh_token: ana.refreshToken })).status).toBe(401);
    const missing = await fetch(`${a.baseUrl}/api/admin/users/nobody-here/revoke`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    expect(missing.status).toBe(404);
  });

  it('reusing a rotated refresh token revokes its whole family', async () => {
    const ana = await register(a);
    const first = await api<{ refresh_token: string }>(a, 'POST', '/api/auth/refresh', undefined, { refresh_token: ana.refreshToken });
    expect(first.status).toBe(200);
    expect((await api(b, 'POST', '/api/auth/refresh', undefined, { refresh_token: ana.refreshToken })).status).toBe(401); // reuse
    expect((await api(b, 'POST', '/api/auth/refresh', undefined, { refresh_token: first.body.refresh_token })).status).toBe(401); // family gone
  });

  it('kick and ban end the member’s live subscriptions on the other instance at once; a ban bars rejoining', async () => {
    const owner = await register(a);
    const ben = await register(a);
    const room = await createRoom(a, owner);
    const ownerSocket = await TestClient.connect(a.wsUrl, owner.accessToken);
    await ownerSocket.call('room.join', { room });
    const benSockets = await Promise.all([b, a].map((s) => TestClient.connect(s.wsUrl, ben.accessToken)));
    for (const s of benSockets) await s.call('room.join', { room });

    // Only the owner may remove.
    expect((await api(a, 'DELETE', `/api/rooms/${room}/members/${owner.username}`, ben.accessToken)).status).toBe(403);

    const t0 = Date.now();
    const removedSeen = benSockets.map((s) => s.nextNew((f) => f.type === 'room.removed', 1_000));
    expect((await api(a, 'DELETE', `/api/rooms/${room}/members/${ben.username}`, owner.accessToken)).status).toBe(200);
    expect((await Promise.all(removedSeen)).map((f) => f.reason)).toEqual(['kicked', 'kicked']);
    expect(Date.now() - t0).toBeLessThan(1_000);
    const notJoined = await benSockets[0]!.request('message.send', { room, body: 'still here?', client_msg_id: 'k1' });
    expect(notJoined.error?.code).toBe('NOT_JOINED');
    // Nothing of the room reaches the kicked sockets any more.
    const before = benSockets[0]!.messages(room).length;
    const ack = await ownerSocket.call('message.send', { room, body: 'after the kick', client_msg_id: 'o1' });
    await ownerSocket.waitForSeq(room, ack.seq);
    await benSockets[0]!.call('ping');
    expect(benSockets[0]!.messages(room).length).toBe(before);

    // A kicked user may rejoin a public room; a banned one may not, anywhere.
    await benSockets[0]!.call('room.join', { room });
    const banned = benSockets[0]!.nextNew((f) => f.type === 'room.removed', 1_000);
    expect((await api(b, 'POST', `/api/rooms/${room}/bans`, owner.accessToken, { username: ben.username })).status).toBe(200);
    expect((await banned).reason).toBe('banned');
    for (const s of benSockets) expect((await s.request('room.join', { room })).error?.code).toBe('BANNED');
    expect((await api(a, 'GET', `/api/rooms/${room}/messages`, ben.accessToken)).status).toBe(403);
    expect((await api(a, 'POST', `/api/rooms/${room}/members`, owner.accessToken, { username: ben.username })).status).toBe(403);
    await Promise.all([ownerSocket, ...benSockets].map((c) => c.close()));
  });

  it('a kick from a private room ends history, presence and typing for the removed user', async () => {
    const owner = await register(a);
    const cid = await register(a);
    const room = await createRoom(a, owner, undefined, 'private');
    await api(a, 'POST', `/api/rooms/${room}/members`, owner.accessToken, { username: cid.username });
    const c = await TestClient.connect(b.wsUrl, cid.accessToken);
    await c.call('room.join', { room });
    const removed = c.nextNew((f) => f.type === 'room.removed', 1_000);
    await api(a, 'DELETE', `/api/rooms/${room}/members/${cid.username}`, owner.accessToken);
    await removed;
    for (const [type, fields] of [
      ['room.join', { room }],
      ['room.join', { room, since: 0 }],
      ['presence.list', { room }],
    ] as const) {
      expect((await c.request(type, fields)).error?.code).toBe('ROOM_NOT_FOUND');
    }
    expect((await c.request('typing', { room })).error?.code).toBe('NOT_JOINED');
    expect((await api(b, 'GET', `/api/rooms/${room}/messages`, cid.accessToken)).status).toBe(404);
    await c.close();
  });

  it('a kick no control event announces (stored by another process) ends a reader’s subscriptions on both instances within a round', async () => {
    const owner = await register(a);
    const dee = await register(a);
    const room = await createRoom(a, owner, undefined, 'private');
    await api(a, 'POST', `/api/rooms/${room}/members`, owner.accessToken, { username: dee.username });
    const readers = await Promise.all([a, b].map((s) => TestClient.connect(s.wsUrl, dee.accessToken)));
    for (const r of readers) await r.call('room.join', { room });
    const removed = readers.map((r) => r.nextNew((f) => f.type === 'room.removed', 2_500)); // MAINTENANCE_INTERVAL_MS 1 s
    const store = await openSqlStore({ url: `sqlite:${join(dir, 'natter.db')}` });
    try {
      expect(await store.removeMember(asRoomId(room), asUserId(dee.id))).toBe(true);
    } finally {
      await store.close();
    }
    expect((await Promise.all(removed)).map((f) => f.reason)).toEqual(['kicked', 'kicked']);
    for (const r of readers) expect((await r.request('typing', { room })).error?.code).toBe('NOT_JOINED');
    await Promise.all(readers.map((r) => r.close()));
  });
});

describe.skipIf(!hasRedis)('per-user message rate shared across instances (Redis token buckets)', () => {
  it('a user’s burst spent on one instance is spent on the other too', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'natter-rate-'));
    const prefix = uniquePrefix();
    const env = { DATABASE_URL: `sqlite:${join(dir, 'natter.db')}`, REDIS_URL: TEST_REDIS_URL, REDIS_PREFIX: prefix, MESSAGE_RATE_BURST: '10', MESSAGE_RATE_PER_SECOND: '1' };
    const [a, b] = [await startServer(env), await startServer(env)];
    try {
      const ana = await register(a);
      const room = await createRoom(a, ana);
      const [ca, cb] = [await TestClient.connect(a.wsUrl, ana.accessToken), await TestClient.connect(b.wsUrl, ana.accessToken)];
      for (const c of [ca, cb]) await c.call('room.join', { room });
      const onA = await Promise.all(range(0, 9).map((i) => ca.request('message.send', { room, body: `a${i}`, client_msg_id: `a${i}` })));
      expect(onA.every((r) => r.ok)).toBe(true);
      // The bucket refills at 1/s: of 3 immediate sends on the other instance, at most 1 can pass even on a slow machine.
      const onB = await Promise.all(range(0, 2).map((i) => cb.request('message.send', { room, body: `b${i}`, client_msg_id: `b${i}` })));
      expect(onB.filter((r) => r.error?.code === 'RATE_LIMITED').length).toBeGreaterThanOrEqual(2);
      await Promise.all([ca.close(), cb.close()]);
    } finally {
      await a.close();
      await b.close();
      await deletePrefix(prefix);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
