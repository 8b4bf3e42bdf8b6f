import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { startServer, uniqueName, PASSWORD, type TestServer } from '../support/server.js';

let server: TestServer;
let app: FastifyInstance;

beforeAll(async () => {
  server = await startServer();
  app = server.natter.app;
});
afterAll(() => server.close());

const post = (url: string, payload: unknown, token?: string) =>
  app.inject({ method: 'POST', url, payload: payload as object, headers: token ? { authorization: `Bearer ${token}` } : {} });
const get = (url: string, token?: string) => app.inject({ method: 'GET', url, headers: token ? { authorization: `Bearer ${token}` } : {} });

async function signUp(username = uniqueName()) {
  const res = await post('/api/auth/register', { username, password: PASSWORD });
  expect(res.statusCode).toBe(201);
  return res.json() as { access_token: string; refresh_token: string; user: { id: string; username: string } };
}

describe('accounts', () => {
  it('registers, logs in, returns /api/me', async () => {
    const name = uniqueName('Ana');
    const reg = await signUp(name);
    expect(reg).toMatchObject({ token_type: 'Bearer', expires_in: 900, user: { username: name } });
    const login = await post('/api/auth/login', { username: name.toLowerCase(), password: PASSWORD });
    expect(login.statusCode).toBe(200);
    const me = await get('/api/me', login.json().access_token);
    expect(me.json()).toMatchObject({ id: reg.user.id, username: name });
    const [, payload] = login.json().access_token.split('.');
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
    expect(claims).toMatchObject({ sub: reg.user.id, name, iss: 'natter', aud: 'natter' });
    // iat has millisecond precision (the revocation cut-off); exp is whole seconds: 15 minutes, less a fraction.
    expect(claims.exp - claims.iat).toBeGreaterThan(899);
    expect(claims.exp - claims.iat).toBeLessThanOrEqual(900);
  });

  it('refuses duplicate usernames (case-insensitive), weak passwords and bad usernames with their codes', async () => {
    const name = uniqueName('Dup');
    await signUp(name);
    const dup = await post('/api/auth/register', { username: name.toUpperCase(), password: PASSWORD });
    expect(dup.statusCode).toBe(409);
    expect(dup.json().error.code).toBe('USERNAME_TAKEN');
    const weak = await post('/api/auth/register', { username: uniqueName(), password: 'short' });
    expect(weak.statusCode).toBe(400);
    expect(weak.json().error.code).toBe('WEAK_PASSWORD');
    const bad = await post('/api/auth/register', { username: 'a b', password: PASSWORD });
    expect(bad.json().error.code).toBe('VALIDATION_FAILED');
    const missing = await post('/api/auth/register', { username: uniqueName() });
    expect(missing.statusCode).toBe(400);
    expect(missing.json().error.code).toBe('VALIDATION_FAILED');
    const notJson = await app.inject({ method: 'POST', url: '/api/auth/register', payload: '{oops', headers: { 'content-type': 'application/json' } });
    expect(notJson.statusCode).toBe(400);
    expect(notJson.json().error.code).toBe('VALIDATION_FAILED');
  });

  it('answers unknown user and wrong password identically', async () => {
    const { user } = await signUp();
    const wrong = await post('/api/auth/login', { username: user.username, password: 'wrong password!!' });
    const unknown = await post('/api/auth/login', { username: uniqueName('ghost'), password: 'wrong password!!' });
    expect(wrong.statusCode).toBe(401);
    expect(unknown.statusCode).toBe(401);
    expect(wrong.json()).toEqual(unknown.json());
    expect(wrong.json().error.code).toBe('INVALID_CREDENTIALS');
  });

  it('rotates refresh tokens; reusing a rotated one revokes the family; logout revokes', async () => {
    const reg = await signUp();
    const r1 = await post('/api/auth/refresh', { refresh_token: reg.refresh_token });
    expect(r1.statusCode).toBe(200);
    const next = r1.json().refresh_token;
    expect(next).not.toBe(reg.refresh_token);
    const reuse = await post('/api/auth/refresh', { refresh_token: reg.refresh_token });
    expect(reuse.statusCode).toBe(401);
    expect(reuse.json().error.code).toBe('TOKEN_INVALID');
    const afterReuse = await post('/api/auth/refresh', { refresh_token: next });
    expect(afterReuse.statusCode).toBe(401); // the whole family is gone

    const other = await signUp();
    expect((await post('/api/auth/logout', { refresh_token: other.refresh_token })).statusCode).toBe(204);
    expect((await post('/api/auth/refresh', { refresh_token: other.refresh_token })).statusCode).toBe(401);
    expect((await post('/api/auth/logout', { refresh_token: 'unknown' })).statusCode).toBe(204);
  });

  it('requires a valid bearer token', async () => {
    expect((await get('/api/me')).json().error.code).toBe('UNAUTHENTICATED');
    const bad = await get('/api/me', 'x.y.z');
    expect(bad.statusCode).toBe(401);
    expect(bad.json().error.code).toBe('TOKEN_INVALID');
  });
});

describe('rooms', () => {
  it('creates public and private rooms, lists what each user may see, adds members (owner only)', async () => {
    const owner = await signUp();
    const other = await signUp();
    const pubName = uniqueName('Pub');
    const pub = await post('/api/rooms', { name: pubName, visibility: 'public' }, owner.access_token);
    expect(pub.statusCode).toBe(201);
    const priv = await post('/api/rooms', { name: uniqueName('Priv'), visibility: 'private' }, owner.access_token);
    const privId = priv.json().id;
    const taken = await post('/api/rooms', { name: pubName.toLowerCase() }, other.access_token);
    expect(taken.statusCode).toBe(409);
    expect(taken.json().error.code).toBe('ROOM_NAME_TAKEN');

    const seenByOther = (await get('/api/rooms', other.access_token)).json().rooms.map((r: { id: string }) => r.id);
    expect(seenByOther).toContain(pub.json().id);
    expect(seenByOther).not.toContain(privId);
    expect((await get(`/api/rooms/${privId}/messages`, other.access_token)).json().error.code).toBe('ROOM_NOT_FOUND');

    const notOwner = await post(`/api/rooms/${privId}/members`, { username: other.user.username }, other.access_token);
    expect(notOwner.json().error.code).toBe('ROOM_NOT_FOUND'); // cannot even see it
    const nobody = await post(`/api/rooms/${privId}/members`, { username: uniqueName('nobody') }, owner.access_token);
    expect(nobody.json().error.code).toBe('USER_NOT_FOUND');
    const added = await post(`/api/rooms/${privId}/members`, { username: other.user.username }, owner.access_token);
    expect(added.json()).toEqual({ user_id: other.user.id, added: true });
    const again = await post(`/api/rooms/${privId}/members`, { username: other.user.username }, owner.access_token);
    expect(again.json().added).toBe(false);
    const forbidden = await post(`/api/rooms/${privId}/members`, { username: owner.user.username }, other.access_token);
    expect(forbidden.statusCode).toBe(403);
    expect(forbidden.json().error.code).toBe('FORBIDDEN');

    const listed = (await get('/api/rooms', other.access_token)).json().rooms.find((r: { id: string }) => r.id === privId);
    expect(listed).toMatchObject({ visibility: 'private', member: true, last_seq: 2 });
    const history = (await get(`/api/rooms/${privId}/messages`, other.access_token)).json().messages;
    expect(history.map((m: { type: string; seq: number }) => [m.seq, m.type])).toEqual([
      [1, 'system'],
      [2, 'system'],
    ]);
  });

  it('pages history by seq with before/after and caps limit at 200', async () => {
    const owner = await signUp();
    const room = (await post('/api/rooms', { name: uniqueName('Hist') }, owner.access_token)).json().id;
    const store = server.natter.store;
    for (let i = 0; i < 30; i++) {
      await store.append({
        id: `m${room}${i}` as never,
        roomId: room,
        senderId: owner.user.id as never,
        senderName: owner.user.username,
        type: 'text',
        body: `b${i}`,
        clientMsgId: `k${i}`,
        createdAt: Date.now(),
      });
    }
    const seqsOf = (res: { json(): { messages: Array<{ seq: number }> } }) => res.json().messages.map((m) => m.seq);
    expect(seqsOf(await get(`/api/rooms/${room}/messages?limit=5`, owner.access_token))).toEqual([27, 28, 29, 30, 31]);
    expect(seqsOf(await get(`/api/rooms/${room}/messages?before=27&limit=3`, owner.access_token))).toEqual([24, 25, 26]);
    expect(seqsOf(await get(`/api/rooms/${room}/messages?after=29`, owner.access_token))).toEqual([30, 31]);
    const tooMany = await get(`/api/rooms/${room}/messages?limit=201`, owner.access_token);
    expect(tooMany.statusCode).toBe(400);
    const both = await get(`/api/rooms/${room}/messages?after=1&before=5`, owner.access_token);
    expect(both.json().error.code).toBe('VALIDATION_FAILED');
  });
});

describe('service endpoints', () => {
  it('serves /healthz, OpenAPI at /docs/json and Swagger UI at /docs', async () => {
    expect((await get('/healthz')).json()).toMatchObject({ status: 'ok' });
    const ready = await get('/readyz');
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toEqual({ status: 'ready', database: true, broker: true });
    const spec = (await get('/docs/json')).json();
    expect(spec.openapi).toMatch(/^3\./);
    for (const path of ['/api/auth/register', '/api/auth/login', '/api/auth/refresh', '/api/auth/logout', '/api/me', '/api/rooms', '/api/rooms/{room}/members', '/api/rooms/{room}/messages', '/healthz', '/readyz']) {
      expect(spec.paths, path).toHaveProperty([path]);
    }
    const ui = await app.inject({ method: 'GET', url: '/docs/' });
    expect(ui.statusCode).toBe(200);
    expect(ui.headers['content-type']).toMatch(/html/);
  });

  it('answers unknown routes with NOT_FOUND', async () => {
    const res = await get('/api/nope');
    expect(res.statusCode).toBe(404);
    expect(res.json().error.code).toBe('NOT_FOUND');
  });
});
