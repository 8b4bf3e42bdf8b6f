/** A8: password policy, indistinguishable failures with timing parity, login throttling that never locks out for good. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AccountService, retryAfterMs } from '../../src/core/accounts.js';
import type { CoreDeps, Logger } from '../../src/core/deps.js';
import { ChatError } from '../../src/core/errors.js';
import { MemoryBroker } from '../../src/adapters/memory/memory-broker.js';
import { MemoryRateLimiter } from '../../src/adapters/memory/memory-rate-limiter.js';
import { MemoryStore } from '../../src/adapters/memory/memory-store.js';
import { ARGON2ID_OWASP } from '../../src/adapters/auth/argon2-hasher.js';
import { api, createRoom, PASSWORD, register, startServer, type TestServer } from '../support/server.js';
import { TestClient } from '../support/ws-client.js';
import { latencyDuring, percentiles } from './support.js';

const silent: Logger = { debug() {}, info() {}, warn() {}, error() {} };

describe('password policy and hashing parameters', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer({ LOGIN_FAILURES: '1000' }); // failures here measure parity, not throttling
  });
  afterAll(() => server.close());

  it('accepts 12..256 characters (counted as code points), refuses shorter and longer, never truncates', async () => {
    const reg = (password: string) => api<{ error?: { code: string } }>(server, 'POST', '/api/auth/register', undefined, { username: `pw${Math.random().toString(36).slice(2, 10)}`, password });
    expect((await reg('x'.repeat(11))).body.error?.code).toBe('WEAK_PASSWORD');
    expect((await reg('😀'.repeat(11))).body.error?.code).toBe('WEAK_PASSWORD');
    expect((await reg('x'.repeat(257))).body.error?.code).toBe('WEAK_PASSWORD');
    expect((await reg('a\u0000bcdefghijklmn')).body.error?.code).toBe('VALIDATION_FAILED');
    const long = 'é'.repeat(256);
    const ok = await api<{ user: { username: string } }>(server, 'POST', '/api/auth/register', undefined, { username: `long${process.pid}`, password: long });
    expect(ok.status).toBe(201);
    // No silent truncation: the same 255-character prefix is a wrong password.
    expect((await api(server, 'POST', '/api/auth/login', undefined, { username: `long${process.pid}`, password: long.slice(0, 255) })).status).toBe(401);
    expect((await api(server, 'POST', '/api/auth/login', undefined, { username: `long${process.pid}`, password: long })).status).toBe(200);
  });

  it('uses argon2id with m=19 MiB, t=2, p=1', () => {
    expect(ARGON2ID_OWASP).toEqual({ algorithm: 2, memoryCost: 19_456, timeCost: 2, parallelism: 1 });
  });

  it('answers an unknown user and a wrong password the same way, in about the same time', async () => {
    const ana = await register(server);
    const attempt = async (username: string) => {
      const t0 = performance.now();
      const res = await api(server, 'POST', '/api/auth/login', undefined, { username, password: 'definitely wrong pw' });
      return { ms: performance.now() - t0, res };
    };
    await attempt('warm-up-unknown'); // the dummy hash is computed once
    const unknown = [];
    const wrong = [];
    for (let i = 0; i < 6; i++) {
      unknown.push(await attempt(`nobody${i}x${process.pid}`));
      wrong.push(await attempt(ana.username));
    }
    for (const r of [...unknown, ...wrong]) expect(r.res).toEqual(unknown[0]!.res);
    const mu = percentiles(unknown.map((r) => r.ms)).p50;
    const mw = percentiles(wrong.map((r) => r.ms)).p50;
    // Both pay one argon2id verification; without the dummy the unknown case would be ~0 ms.
    expect(mu).toBeGreaterThan(mw / 3);
    expect(mu).toBeLessThan(mw * 3);
  });

  it('logins (argon2 off the event loop, at most 2 at once) never stall chat traffic', async () => {
    const ana = await register(server);
    const room = await createRoom(server, ana);
    const c = await TestClient.connect(server.wsUrl, ana.accessToken);
    await c.call('room.join', { room });
    const t0 = performance.now();
    const { p99, samples } = await latencyDuring(c, () =>
      Promise.all(Array.from({ length: 16 }, () => api(server, 'POST', '/api/auth/login', undefined, { username: ana.username, password: PASSWORD }))),
    );
    const batchMs = performance.now() - t0;
    // Hashing on the event loop would hold every ping for most of the batch; off it, pings keep flowing.
    expect(samples).toBeGreaterThan(3);
    expect(p99).toBeLessThan(Math.max(300, batchMs / 2));
    await c.close();
  });
});

describe('login throttling (per account and per address)', () => {
  it('refuses with 429 and Retry-After after 10 failures; the right password is refused too while throttled', async () => {
    const server = await startServer({ LOGIN_FAILURES: '10' });
    try {
      const ana = await register(server);
      const statuses = [];
      for (let i = 0; i < 12; i++) statuses.push((await api(server, 'POST', '/api/auth/login', undefined, { username: ana.username, password: `wrong password ${i}` })).status);
      expect(statuses.slice(0, 10)).toEqual(Array(10).fill(401));
      expect(statuses.slice(10)).toEqual([429, 429]);
      const res = await fetch(`${server.baseUrl}/api/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: ana.username, password: PASSWORD }),
      });
      expect(res.status).toBe(429);
      expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(Number(res.headers.get('retry-after'))).toBeLessThanOrEqual(90);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('RATE_LIMITED');
    } finally {
      await server.close();
    }
  });

  it('cannot lock an account out for good: attempts come back as the bucket refills (fake clock)', async () => {
    let now = Date.UTC(2026, 0, 1);
    const clock = { now: () => now };
    const store = new MemoryStore();
    const hasher = { hash: async (p: string) => `h:${p}`, verify: async (h: string, p: string) => h === `h:${p}` };
    let n = 0;
    const deps = {
      store,
      broker: new MemoryBroker(),
      clock,
      ids: { next: () => `id${++n}` },
      hasher,
      accessTokens: { issue: async () => ({ token: 't', expiresAt: now + 900_000 }), verify: async () => Promise.reject(new Error('unused')) },
      opaqueTokens: { create: () => ({ token: `r${++n}`, hash: `hr${n}` }), hash: (t: string) => `h${t}` },
      rateLimiter: new MemoryRateLimiter(clock),
      limits: { maxBodyChars: 10, historyOnJoin: 1, catchUpPage: 1, refreshTokenTtlSeconds: 60, maxRoomsPerSession: 1, messageRate: { capacity: 1, perSecond: 1 }, typingRate: { capacity: 1, perSecond: 1 }, loginFailureRate: { capacity: 10, perSecond: 10 / 900 } },
      log: silent,
    } as unknown as CoreDeps;
    const accounts = new AccountService(deps);
    await accounts.register('victim', 'the right passphrase');
    const code = (p: Promise<unknown>) => p.then(() => 'OK', (e: ChatError) => e.code);
    for (let i = 0; i < 10; i++) expect(await code(accounts.login('victim', 'wrong wrong wrong', { ip: `10.0.0.${i}` }))).toBe('INVALID_CREDENTIALS');
    // An attacker keeps hammering from many addresses, each time as soon as he is let in: the waits grow (growing
    // delay), but never past the 15-minute window.
    const waits: number[] = [];
    for (let attempt = 0; attempt < 12; attempt++) {
      const refused = await accounts.login('victim', 'the right passphrase', { ip: '10.9.9.9' }).then(
        () => undefined,
        (e: ChatError) => e,
      );
      expect(refused?.code).toBe('RATE_LIMITED');
      const wait = retryAfterMs(refused!)!;
      waits.push(wait);
      expect(wait).toBeLessThanOrEqual(900_000);
      now += wait;
      expect(await code(accounts.login('victim', 'wrong again', { ip: `10.1.${attempt}.1` }))).toBe('INVALID_CREDENTIALS');
    }
    expect(waits.at(-1)!).toBeGreaterThan(4 * waits[0]!);
    // Once the attacker stops, the owner gets in within one window.
    const refused = await accounts.login('victim', 'the right passphrase', { ip: '10.9.9.9' }).catch((e: ChatError) => e);
    now += retryAfterMs(refused as ChatError)!;
    expect(await code(accounts.login('victim', 'the right passphrase', { ip: '10.9.9.9' }))).toBe('OK');
  });
});
