/**
 * A3: forged and broken access tokens are refused with 1008 before any room data — 10/10 (+1), on a server that
 * also trusts an external identity provider (EdDSA and RS256 keys served as a JWKS on a random local port), whose
 * genuine tokens are accepted.
 */
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SignJWT, exportJWK, exportSPKI, generateKeyPair, type JWK } from 'jose';
import { createRoom, register, startServer, TEST_JWT_SECRET, type TestServer, type TestUser } from '../support/server.js';
import { TestClient } from '../support/ws-client.js';
import { figure } from './support.js';

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
const now = () => Math.floor(Date.now() / 1000);
const IDP = 'https://idp.test';

let jwks: Server;
let jwksUrl: string;
let server: TestServer;
let ana: TestUser;
let room: string;
type Key = Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];
const keys = {} as Record<'ed' | 'rsa' | 'attacker', { privateKey: Key; publicKey: Key; jwk: JWK }>;

beforeAll(async () => {
  for (const [name, alg] of [['ed', 'EdDSA'], ['rsa', 'RS256'], ['attacker', 'RS256']] as const) {
    const pair = await generateKeyPair(alg, { extractable: true });
    keys[name] = { ...pair, jwk: { ...(await exportJWK(pair.publicKey)), kid: name, alg, use: 'sig' } };
  }
  jwks = createServer((req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ keys: [keys.ed.jwk, keys.rsa.jwk] }));
  });
  await new Promise<void>((resolve) => jwks.listen(0, '127.0.0.1', resolve));
  jwksUrl = `http://127.0.0.1:${(jwks.address() as { port: number }).port}/jwks.json`;
  server = await startServer({ JWT_JWKS_URL: jwksUrl, JWT_JWKS_ISSUER: IDP });
  ana = await register(server);
  room = await createRoom(server, ana);
});
afterAll(async () => {
  await server.close();
  jwks.close();
});

const secret = () => new TextEncoder().encode(TEST_JWT_SECRET);
const claims = () => ({ name: ana.username });
const own = (header: Record<string, unknown> = {}) =>
  new SignJWT(claims()).setProtectedHeader({ alg: 'HS256', typ: 'at+jwt', ...header }).setSubject(ana.id).setIssuer('natter').setAudience('natter').setIssuedAt();

/** Each forged token, built fresh (ana's real identity, only one thing wrong). */
const BATTERY: Array<[string, () => Promise<string>]> = [
  ['alg none', async () => `${b64({ alg: 'none', typ: 'at+jwt' })}.${b64({ sub: ana.id, name: ana.username, iss: 'natter', aud: 'natter', iat: now(), exp: now() + 600 })}.`],
  [
    'HS256 signed with the RSA public key (key confusion)',
    async () => own().setExpirationTime('10m').sign(new TextEncoder().encode(await exportSPKI(keys.rsa.publicKey))),
  ],
  [
    'tampered signature',
    async () => {
      const t = await own().setExpirationTime('10m').sign(secret());
      const [h, p, s] = t.split('.');
      return `${h}.${p}.${s!.startsWith('A') ? 'B' : 'A'}${s!.slice(1)}`;
    },
  ],
  ['expired (beyond the 30 s tolerance)', () => own().setIssuedAt(now() - 1000).setExpirationTime(now() - 120).sign(secret())],
  ['nbf in the future', () => own().setNotBefore(now() + 600).setExpirationTime('20m').sign(secret())],
  ['wrong iss', () => own().setIssuer('evil').setExpirationTime('10m').sign(secret())],
  ['wrong aud', () => own().setAudience('other-service').setExpirationTime('10m').sign(secret())],
  ['missing exp', () => own().sign(secret())],
  ['wrong typ', () => own({ typ: 'JWT' }).setExpirationTime('10m').sign(secret())],
  [
    'key named in the header (jwk + jku, signed by the attacker)',
    () =>
      new SignJWT(claims())
        .setProtectedHeader({ alg: 'RS256', typ: 'at+jwt', kid: 'attacker', jwk: keys.attacker.jwk, jku: 'http://127.0.0.1:1/evil.json' })
        .setSubject(ana.id)
        .setIssuer(IDP)
        .setAudience('natter')
        .setIssuedAt()
        .setExpirationTime('10m')
        .sign(keys.attacker.privateKey),
  ],
  ['kid path traversal on HS256 (extra)', () => own({ kid: '../../../../dev/null' }).setExpirationTime('10m').sign(new Uint8Array(32))],
];

async function refused(token: string, how: 'frame' | 'query'): Promise<{ code: number; frames: number }> {
  const c = how === 'frame' ? await TestClient.connect(server.wsUrl) : new TestClient(new (await import('ws')).default(`${server.wsUrl}?token=${encodeURIComponent(token)}`));
  if (how === 'frame') {
    c.sendRaw(JSON.stringify({ type: 'auth', id: 'a', token }));
    // Try to reach room data at once as well: it must never flow.
    c.sendRaw(JSON.stringify({ type: 'room.join', id: 'j', room }));
  }
  const closed = await c.closed;
  return { code: closed.code, frames: c.frames.length };
}

describe('forged and broken tokens (A3)', () => {
  const closes: number[] = [];
  afterAll(() => {
    figure('JWT battery', { tokens: BATTERY.length, accepted: 0, refused1008: closes.filter((c) => c === 1008).length / 2, framesBeforeClose: 0 });
  });
  it.each(BATTERY)('refuses %s with 1008 and sends nothing (first frame and query string)', async (_name, make) => {
    const token = await make();
    const results = [await refused(token, 'frame'), await refused(token, 'query')];
    closes.push(...results.map((r) => r.code));
    expect(results).toEqual([{ code: 1008, frames: 0 }, { code: 1008, frames: 0 }]);
    // The same token over HTTP: 401.
    const res = await fetch(`${server.baseUrl}/api/rooms/${room}/messages`, { headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(401);
  });

  it('accepts the genuine token (control)', async () => {
    const c = await TestClient.connect(server.wsUrl, await own().setExpirationTime('10m').sign(secret()));
    expect((await c.call('room.join', { room })).room).toBe(room);
    await c.close();
  });
});

describe('external identity provider over JWKS (EdDSA, RS256)', () => {
  const idpToken = (key: 'ed' | 'rsa', sub: string, name: string) =>
    new SignJWT({ preferred_username: name })
      .setProtectedHeader({ alg: key === 'ed' ? 'EdDSA' : 'RS256', typ: 'at+jwt', kid: key })
      .setSubject(sub)
      .setIssuer(IDP)
      .setAudience('natter')
      .setIssuedAt()
      .setExpirationTime('10m')
      .sign(keys[key].privateKey);

  it.each(['ed', 'rsa'] as const)('accepts a %s token of the IdP, provisions the user, and chats', async (key) => {
    const sub = `idp-${key}-${process.pid}`;
    const c = await TestClient.connect(server.wsUrl, await idpToken(key, sub, `idp_${key}_${process.pid}`));
    expect((await c.next((f) => f.type === 'hello')).user).toEqual({ id: sub, name: `idp_${key}_${process.pid}` });
    await c.call('room.join', { room });
    await c.call('message.send', { room, body: 'from the IdP', client_msg_id: `idp-${key}` });
    await c.close();
  });

  it('refuses an IdP-shaped token signed by a key not in the JWKS, and an IdP token with natter’s issuer', async () => {
    const forged = await new SignJWT({ name: 'mallory' })
      .setProtectedHeader({ alg: 'RS256', typ: 'at+jwt', kid: 'rsa' })
      .setSubject('mallory')
      .setIssuer(IDP)
      .setAudience('natter')
      .setIssuedAt()
      .setExpirationTime('10m')
      .sign(keys.attacker.privateKey);
    expect(await refused(forged, 'frame')).toEqual({ code: 1008, frames: 0 });
    const wrongIssuer = await new SignJWT({ name: ana.username })
      .setProtectedHeader({ alg: 'EdDSA', typ: 'at+jwt', kid: 'ed' })
      .setSubject(ana.id)
      .setIssuer('natter')
      .setAudience('natter')
      .setIssuedAt()
      .setExpirationTime('10m')
      .sign(keys.ed.privateKey);
    expect(await refused(wrongIssuer, 'frame')).toEqual({ code: 1008, frames: 0 });
  });
});
