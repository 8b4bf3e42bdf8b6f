/**
 * HTTP hygiene and A10: security headers, CORS closed by default (open only to listed origins), body limits, no
 * stack traces to clients; and a full scenario at LOG_LEVEL=trace whose every log line is grepped for secrets.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createLogger } from '../../src/logger.js';
import { api, createRoom, PASSWORD, register, startServer, TEST_JWT_SECRET, type TestServer } from '../support/server.js';
import { TestClient } from '../support/ws-client.js';

describe('headers, CORS, body limits, error bodies', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer({}, { hasher: { hash: async () => 'h', verify: async () => Promise.reject(new Error('secret internal detail')) } });
  });
  afterAll(() => server.close());

  it('sends security headers', async () => {
    const res = await fetch(`${server.baseUrl}/healthz`);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect(res.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect(res.headers.get('strict-transport-security')).toMatch(/max-age=\d+/);
    expect(res.headers.get('x-frame-options')).toBe('SAMEORIGIN');
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    expect(res.headers.get('x-powered-by')).toBeNull();
  });

  it('keeps CORS closed by default: no Access-Control-* for any origin, preflight included', async () => {
    const pre = await fetch(`${server.baseUrl}/api/rooms`, {
      method: 'OPTIONS',
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization' },
    });
    expect(pre.headers.get('access-control-allow-origin')).toBeNull();
    const get = await fetch(`${server.baseUrl}/healthz`, { headers: { origin: 'https://evil.example' } });
    expect(get.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('opens CORS only to the origins listed in CORS_ORIGINS', async () => {
    const open = await startServer({ CORS_ORIGINS: 'https://app.example' });
    try {
      const ok = await fetch(`${open.baseUrl}/healthz`, { headers: { origin: 'https://app.example' } });
      expect(ok.headers.get('access-control-allow-origin')).toBe('https://app.example');
      const other = await fetch(`${open.baseUrl}/healthz`, { headers: { origin: 'https://evil.example' } });
      expect(other.headers.get('access-control-allow-origin')).toBeNull();
    } finally {
      await open.close();
    }
  });

  it('refuses bodies over 64 KiB with 413', async () => {
    const res = await fetch(`${server.baseUrl}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'x', password: 'y'.repeat(70 * 1024) }),
    });
    expect(res.status).toBe(413);
  });

  it('never sends a stack trace or an internal error message to the client', async () => {
    const ana = await register(server).catch(() => null); // registration hashes fine; login verification throws
    const bodies: string[] = [];
    const login = await fetch(`${server.baseUrl}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: ana?.username ?? 'nobody', password: PASSWORD }),
    });
    expect(login.status).toBe(500);
    bodies.push(await login.text());
    for (const body of ['{not json', '[]', '{"username": 5}']) {
      const res = await fetch(`${server.baseUrl}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      expect(res.status).toBe(400);
      bodies.push(await res.text());
    }
    for (const text of bodies) {
      expect(text).not.toMatch(/\n\s+at |\.ts:\d+|node_modules|secret internal detail/);
      expect(JSON.parse(text)).toMatchObject({ error: { code: expect.any(String), message: expect.any(String) } });
    }
    expect(JSON.parse(bodies[0]!).error.code).toBe('INTERNAL');
  });
});

describe('no secret in any log line (A10)', () => {
  it('runs a full scenario at LOG_LEVEL=trace and finds no token, password or secret in the logs', async () => {
    const lines: string[] = [];
    const ADMIN_TOKEN = 'admin-secret-admin-secret-admin-secret-42';
    const logger = createLogger({ logLevel: 'trace', logFormat: 'json' }, { write: (text: string) => lines.push(text) });
    const server = await startServer({ LOG_LEVEL: 'trace', ADMIN_TOKEN, LOGIN_FAILURES: '10' }, { logger });
    const secrets: string[] = [TEST_JWT_SECRET, ADMIN_TOKEN];
    try {
      const ana = await register(server);
      const ben = await register(server);
      secrets.push(ana.accessToken, ana.refreshToken, ben.accessToken, ben.refreshToken, 'correct horse battery staple');
      const room = await createRoom(server, ana, undefined, 'private');
      await api(server, 'POST', `/api/rooms/${room}/members`, ana.accessToken, { username: ben.username });
      for (let i = 0; i < 5; i++) await api(server, 'POST', '/api/auth/login', undefined, { username: ana.username, password: `wrong-password-${i}-xyz` });
      secrets.push('wrong-password-0-xyz', 'wrong-password-4-xyz');
      const login = await api<{ access_token: string; refresh_token: string }>(server, 'POST', '/api/auth/login', undefined, { username: ben.username, password: PASSWORD });
      const refreshed = await api<{ access_token: string; refresh_token: string }>(server, 'POST', '/api/auth/refresh', undefined, { refresh_token: login.body.refresh_token });
      secrets.push(login.body.access_token, login.body.refresh_token, refreshed.body.access_token, refreshed.body.refresh_token);
      await api(server, 'POST', '/api/auth/refresh', undefined, { refresh_token: login.body.refresh_token }); // reuse: family revoked

      const viaQuery = await TestClient.connect(server.wsUrl, ana.accessToken);
      const viaFrame = await TestClient.connect(server.wsUrl);
      await viaFrame.request('auth', { token: ben.accessToken });
      await viaFrame.call('room.join', { room });
      await viaQuery.call('room.join', { room });
      await viaQuery.call('message.send', { room, body: 'hello with a normal body', client_msg_id: 'log-1' });
      await viaQuery.request('auth', { token: ana.accessToken }); // in-band refresh
      const forged = `${ana.accessToken.slice(0, -6)}AAAAAA`;
      secrets.push(forged);
      const bad = new TestClient(new WebSocket(`${server.wsUrl}?token=${forged}`));
      await bad.closed;
      const changed = await api<{ access_token: string; refresh_token: string }>(server, 'POST', '/api/auth/password', ben.accessToken, {
        current_password: PASSWORD,
        new_password: 'brand new passphrase 99',
      });
      secrets.push('brand new passphrase 99', changed.body.access_token, changed.body.refresh_token);
      await viaFrame.closed;
      await api(server, 'DELETE', `/api/rooms/${room}/members/${ben.username}`, ana.accessToken);
      await fetch(`${server.baseUrl}/api/admin/users/${ana.username}/revoke`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
      await viaQuery.closed;
      await api(server, 'POST', '/api/auth/logout', undefined, { refresh_token: changed.body.refresh_token });
    } finally {
      await server.close();
    }
    const log = lines.join('');
    expect(lines.length).toBeGreaterThan(20); // trace level really logged the run
    for (const secret of secrets) {
      expect(typeof secret === 'string' && secret.length >= 16, 'every secret of the scenario was obtained').toBe(true);
      expect(log.includes(secret), `a secret (${secret.slice(0, 6)}…) appears in the logs`).toBe(false);
      // JWTs also must not appear by their signature part alone.
      const signature = secret.split('.')[2];
      if (signature) expect(log.includes(signature)).toBe(false);
    }
  });
});
