/** The web app route: index.html at /, hashed assets, strict headers, API untouched, and a clear 503 without a build. */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify from 'fastify';
import { afterAll, describe, expect, it } from 'vitest';
import { webRoutes } from '../../src/transport/http/routes/web.js';
import { startServer } from '../support/server.js';

const root = mkdtempSync(join(tmpdir(), 'natter-web-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('web route', () => {
  it('answers 503 with instructions when the app is not built', async () => {
    const app = Fastify();
    await app.register(webRoutes, { root: join(root, 'missing') });
    const res = await app.inject({ url: '/' });
    expect(res.statusCode).toBe(503);
    expect(res.headers['content-type']).toMatch(/^text\/plain/);
    expect(res.body).toContain('npm run build:web');
    await app.close();
  });

  it('serves index.html at / and assets with cache and security headers', async () => {
    mkdirSync(join(root, 'dist', 'assets'), { recursive: true });
    writeFileSync(join(root, 'dist', 'index.html'), '<!doctype html><title>natter</title>');
    writeFileSync(join(root, 'dist', 'assets', 'index-abc.js'), 'console.log(1)');
    const app = Fastify();
    await app.register(webRoutes, { root: join(root, 'dist') });
    app.get('/api/ping', async () => ({ ok: true }));
    const index = await app.inject({ url: '/' });
    expect(index.statusCode).toBe(200);
    expect(index.headers['content-type']).toMatch(/^text\/html/);
    expect(index.headers['cache-control']).toBe('no-cache');
    expect(index.headers['content-security-policy']).toContain("default-src 'self'");
    expect(index.headers['x-content-type-options']).toBe('nosniff');
    const asset = await app.inject({ url: '/assets/index-abc.js' });
    expect(asset.statusCode).toBe(200);
    expect(asset.headers['cache-control']).toContain('immutable');
    expect((await app.inject({ url: '/api/ping' })).json()).toEqual({ ok: true });
    expect((await app.inject({ url: '/nope.js' })).statusCode).toBe(404);
    await app.close();
  });

  it('leaves the API, docs and health routes of the real app working', async () => {
    const server = await startServer();
    try {
      expect((await fetch(`${server.baseUrl}/healthz`)).status).toBe(200);
      expect((await fetch(`${server.baseUrl}/docs/json`)).status).toBe(200);
      expect((await fetch(`${server.baseUrl}/api/rooms`)).status).toBe(401);
      expect([200, 503]).toContain((await fetch(`${server.baseUrl}/`)).status);
    } finally {
      await server.close();
    }
  });
});
