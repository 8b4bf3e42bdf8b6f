/**
 * F9: a token expiring on an open socket. The server pushes `auth.expiring` TOKEN_REFRESH_LEAD_MS before `exp`; a
 * client that answers in band keeps its socket; one that does not is closed with 4002 within grace + 2.5 s of `exp`.
 * The SDK answers the server's request by itself.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { SignJWT } from 'jose';
import { NatterClient } from '../../client/natter-client.js';
import { register, startServer, TEST_JWT_SECRET, type TestServer, type TestUser } from '../support/server.js';
import { TestClient } from '../support/ws-client.js';

const LEAD_MS = 1_500;
const GRACE_MS = 1_000;
let server: TestServer;
let ana: TestUser;

beforeAll(async () => {
  server = await startServer({ TOKEN_REFRESH_LEAD_MS: String(LEAD_MS), TOKEN_EXPIRY_GRACE_MS: String(GRACE_MS) });
  ana = await register(server);
});
afterAll(() => server.close());

/** A genuine token for ana that expires `inMs` from now (natter's own TTL has a 30 s floor). */
const shortToken = (inMs: number) =>
  new SignJWT({ name: ana.username })
    .setProtectedHeader({ alg: 'HS256', typ: 'at+jwt' })
    .setSubject(ana.id)
    .setIssuer('natter')
    .setAudience('natter')
    .setIssuedAt(Date.now() / 1000)
    .setExpirationTime(Math.floor((Date.now() + inMs) / 1000))
    .sign(new TextEncoder().encode(TEST_JWT_SECRET));

const expOf = (token: string) => (JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as { exp: number }).exp * 1000;

describe('token expiry on an open socket (F9)', () => {
  it('asks before exp; a client that answers in band keeps its socket, one that does not is closed with 4002 in time', async () => {
    const first = await shortToken(4_000);
    const exp = expOf(first);
    const answering = await TestClient.connect(server.wsUrl, first);
    const silent = await TestClient.connect(server.wsUrl, first);

    const asked = await answering.nextNew((f) => f.type === 'auth.expiring', 6_000);
    const askedAt = Date.now();
    expect(askedAt).toBeLessThan(exp);
    expect(Date.parse(asked.expires_at as string)).toBe(exp);
    expect(Date.parse(asked.deadline as string)).toBe(exp + GRACE_MS);
    const reply = await answering.request('auth', { token: await shortToken(60_000) });
    expect(reply.ok).toBe(true);

    const closed = await silent.closed;
    const closedAt = Date.now();
    expect(closed).toEqual({ code: 4002, reason: 'token expired' });
    expect(closedAt - exp).toBeLessThan(GRACE_MS + 2_500);
    expect(closedAt).toBeGreaterThanOrEqual(exp + GRACE_MS - 50);

    // Past the old deadline the answering client is still served.
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, exp + GRACE_MS + 500 - Date.now())));
    expect((await answering.call('ping')).server_time).toBeTypeOf('string');
    await answering.close();
  });

  it('a fresh token for another user does not extend the socket', async () => {
    const bob = await register(server);
    const c = await TestClient.connect(server.wsUrl, await shortToken(2_500));
    const reply = await c.request('auth', { token: bob.accessToken });
    expect(reply.error?.code).toBe('ALREADY_AUTHENTICATED');
    expect((await c.closed).code).toBe(4002);
  });

  it('the SDK answers auth.expiring in band and keeps its connection', async () => {
    let issued = 0;
    const client = new NatterClient({
      url: server.wsUrl,
      WebSocket: WebSocket as never,
      getToken: async () => {
        issued++;
        return shortToken(issued === 1 ? 4_000 : 60_000);
      },
      refreshLeadMs: 1, // the SDK's own schedule would refresh too late: only the server's request can save it
    });
    const closes: number[] = [];
    client.on('state', (s) => s.closeCode !== undefined && closes.push(s.closeCode));
    const hello = new Promise<void>((resolve) => client.on('hello', () => resolve()));
    client.connect();
    await hello;
    const first = Date.now();
    const deadline = first + 4_000 + GRACE_MS + 1_500;
    while (Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
    expect(issued).toBeGreaterThanOrEqual(2);
    expect(client.state).toBe('connected');
    expect(closes).toEqual([]);
    await client.ping();
    client.close();
  });
});
