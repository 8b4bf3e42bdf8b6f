/** A1, A2, A7 (connection caps): who may open a WebSocket, and how long an unauthenticated one may stay. */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { loadConfig } from '../../src/config.js';
import { createRoom, register, startServer, type TestServer, type TestUser } from '../support/server.js';
import { TestClient } from '../support/ws-client.js';
import { upgradeStatus } from './support.js';

describe('origin allowlist (A1)', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer({ ALLOWED_ORIGINS: 'https://chat.example.com' });
  });
  afterAll(() => server.close());

  it('refuses another Origin with 403 and no upgrade; admits the same origin, a listed one, and no Origin', async () => {
    const host = new URL(server.baseUrl).host;
    expect(await upgradeStatus(server.wsUrl, { origin: 'https://evil.example' })).toBe(403);
    expect(await upgradeStatus(server.wsUrl, { origin: `http://${host}.evil.example` })).toBe(403);
    expect(await upgradeStatus(server.wsUrl, { origin: 'https://chat.example.com:444' })).toBe(403);
    expect(await upgradeStatus(server.wsUrl, { origin: 'null' })).toBe(403);
    expect(await upgradeStatus(server.wsUrl, { origin: `http://${host}` })).toBe(101);
    expect(await upgradeStatus(server.wsUrl, { origin: 'https://chat.example.com' })).toBe(101);
    expect(await upgradeStatus(server.wsUrl)).toBe(101);
  });

  it('a client without Origin still gets nothing without a valid token', async () => {
    const c = await TestClient.connect(server.wsUrl);
    c.sendRaw(JSON.stringify({ type: 'auth', token: 'x.y.z' }));
    expect((await c.closed).code).toBe(1008);
    expect(c.frames).toEqual([]);
  });
});

describe('transport settings (A11)', () => {
  it('runs ws >= 8.17.1 and never negotiates permessage-deflate', async () => {
    const { version } = JSON.parse(readFileSync('node_modules/ws/package.json', 'utf8')) as { version: string };
    const [major, minor, patch] = version.split('.').map(Number) as [number, number, number];
    expect(major * 1e6 + minor * 1e3 + patch).toBeGreaterThanOrEqual(8_017_001);
    const server = await startServer();
    try {
      const ws = new WebSocket(server.wsUrl, { perMessageDeflate: true });
      const extensions = await new Promise<string | undefined>((resolve) => ws.on('upgrade', (res) => resolve(res.headers['sec-websocket-extensions'])));
      expect(extensions).toBeUndefined();
      ws.terminate();
    } finally {
      await server.close();
    }
  });
});

describe('unauthenticated sockets (A2)', () => {
  it('defaults to closing an unauthenticated socket after 10 s', () => {
    expect(loadConfig({ JWT_SECRET: 'x'.repeat(32) }).authTimeoutMs).toBe(10_000);
  });

  it('closes a silent unauthenticated socket with 1008 at the timeout, having sent nothing', async () => {
    const server = await startServer({ AUTH_TIMEOUT_MS: '400' });
    try {
      const t0 = Date.now();
      const c = await TestClient.connect(server.wsUrl);
      const closed = await c.closed;
      expect(closed).toEqual({ code: 1008, reason: 'authentication timeout' });
      expect(Date.now() - t0).toBeLessThan(400 + 3_000);
      expect(c.frames).toEqual([]);
    } finally {
      await server.close();
    }
  });
});

describe('connection caps and connect rate (A7)', () => {
  let server: TestServer;
  let ana: TestUser;
  beforeAll(async () => {
    server = await startServer({
      WS_MAX_CONNECTIONS_PER_IP: '6',
      WS_MAX_CONNECTIONS_PER_USER: '3',
      WS_CONNECT_BURST: '1000',
      WS_CONNECTS_PER_SECOND: '1000',
    });
    ana = await register(server);
  });
  afterAll(() => server.close());

  it('closes a user socket beyond the per-user cap with 4501; freeing one lets the next in', async () => {
    const open = await Promise.all([1, 2, 3].map(() => TestClient.connect(server.wsUrl, ana.accessToken)));
    const extra = new TestClient(new WebSocket(`${server.wsUrl}?token=${ana.accessToken}`));
    expect((await extra.closed).code).toBe(4501);
    expect(extra.frames.some((f) => f.type === 'hello')).toBe(false);
    await open[0]!.close();
    const again = await TestClient.connect(server.wsUrl, ana.accessToken);
    await Promise.all([again, ...open.slice(1)].map((c) => c.close()));
  });

  it('answers 429 without upgrading beyond the per-address cap', async () => {
    const sockets = await Promise.all([1, 2, 3, 4, 5, 6].map(() => TestClient.connect(server.wsUrl)));
    expect(await upgradeStatus(server.wsUrl)).toBe(429);
    await sockets[0]!.close();
    // The slot frees once the server saw the close.
    const deadline = Date.now() + 5_000;
    let status = 0;
    while ((status = await upgradeStatus(server.wsUrl)) !== 101 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(status).toBe(101);
    await Promise.all(sockets.slice(1).map((c) => c.close()));
  });

  it('answers 429 to connects beyond the per-address rate', async () => {
    const limited = await startServer({ WS_CONNECT_BURST: '5', WS_CONNECTS_PER_SECOND: '1' });
    try {
      const statuses = [];
      for (let i = 0; i < 8; i++) statuses.push(await upgradeStatus(limited.wsUrl));
      expect(statuses.filter((s) => s === 101)).toHaveLength(5);
      expect(statuses.slice(5)).toEqual([429, 429, 429]);
      // Room data stays untouched: an HTTP call still works for the same address.
      const bob = await register(limited);
      await createRoom(limited, bob);
    } finally {
      await limited.close();
    }
  });
});
