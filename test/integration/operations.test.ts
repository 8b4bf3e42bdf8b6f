/**
 * Operating one natter: GET /metrics (every catalogue metric, counts that move, token and separate-port access),
 * readiness during shutdown, upgrades refused while draining, clients moved away in jittered batches (4010).
 */
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { METRICS } from '../../src/core/metrics.js';
import { CLOSE_CODES } from '../../src/protocol/errors.js';
import { nginxAvailable, startNginx } from '../support/nginx.js';
import { createRoom, register, startServer, type TestServer } from '../support/server.js';
import { TestClient } from '../support/ws-client.js';

const servers: TestServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close().catch(() => undefined)));
});
const start = async (env: Record<string, string> = {}) => {
  const s = await startServer(env);
  servers.push(s);
  return s;
};

/** The value of one sample line `name{labels} value` (labels given exactly as printed), or undefined. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

/** A raw upgrade request: answers the HTTP status (101 when it was accepted). */
function upgradeStatus(wsUrl: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(wsUrl);
    ws.once('open', () => {
      ws.terminate();
      resolve(101);
    });
    ws.once('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      ws.terminate();
    });
    ws.once('error', (err) => reject(err));
  });
}

describe('GET /metrics', () => {
  it('exposes every catalogue metric, process metrics, and counts a conversation', async () => {
    const server = await start();
    const [ana, ben] = await Promise.all([register(server), register(server)]);
    const room = await createRoom(server, ana);
    const a = await TestClient.connect(server.wsUrl, ana.accessToken);
    const b = await TestClient.connect(server.wsUrl, ben.accessToken);
    await a.call('room.join', { room });
    await b.call('room.join', { room });
    for (let i = 1; i <= 3; i++) await a.call('message.send', { room, body: `m${i}`, client_msg_id: `m${i}` });
    await a.call('message.send', { room, body: 'm1', client_msg_id: 'm1' }); // a retry: duplicate
    await b.waitForSeq(room, 4);
    const c = await TestClient.connect(server.wsUrl, ben.accessToken);
    await c.call('room.join', { room, since: 2 }); // a resume
    await c.waitForSeq(room, 4);
    await a.request('message.send', { room: 'nope', body: 'x', client_msg_id: 'x' }); // an error reply

    const res = await fetch(`${server.baseUrl}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    for (const spec of Object.values(METRICS)) expect(text, spec.name).toContain(`# TYPE ${spec.name} `);
    for (const name of ['process_resident_memory_bytes', 'nodejs_eventloop_lag_seconds', 'nodejs_heap_size_used_bytes']) expect(text).toContain(`# TYPE ${name} `);

    expect(sample(text, 'natter_messages_received_total')).toBe(5); // the one refused (NOT_JOINED) included
    expect(sample(text, 'natter_messages_persisted_total{type="text"}')).toBe(3);
    expect(sample(text, 'natter_messages_persisted_total{type="system"}')).toBe(1);
    expect(sample(text, 'natter_messages_duplicate_total')).toBe(1);
    expect(sample(text, 'natter_ack_latency_seconds_count')).toBe(4);
    expect(sample(text, 'natter_resumes_total')).toBe(1);
    // a and b got 1..4 (history or live), c got 3..4 replayed
    expect(sample(text, 'natter_messages_delivered_total{path="live"}')! + sample(text, 'natter_messages_delivered_total{path="replay"}')!).toBe(10);
    expect(sample(text, 'natter_broker_published_total{kind="message"}')).toBe(4);
    expect(sample(text, 'natter_broker_received_total{kind="message"}')).toBe(3); // "created the room" was published before anyone subscribed
    expect(sample(text, 'natter_broker_lag_seconds_count')).toBeGreaterThanOrEqual(3);
    expect(sample(text, 'natter_publish_deliver_latency_seconds_count')).toBeGreaterThanOrEqual(3);
    expect(sample(text, 'natter_errors_total{code="NOT_JOINED",transport="ws"}')).toBe(1);
    expect(sample(text, 'natter_connections')).toBe(3);
    expect(sample(text, 'natter_sessions')).toBe(3);
    expect(sample(text, 'natter_authenticated_users')).toBe(2);
    expect(sample(text, 'natter_rooms_local')).toBe(1);
    expect(sample(text, 'natter_draining')).toBe(0);
    expect(sample(text, 'natter_db_query_seconds_count{kind="transaction",outcome="ok"}')).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'natter_db_query_seconds_count{kind="query",outcome="ok"}')).toBeGreaterThanOrEqual(1);
    await Promise.all([a.close(), b.close(), c.close()]);
  });

  it('counts HTTP error replies by code', async () => {
    const server = await start();
    await fetch(`${server.baseUrl}/api/me`);
    const text = await (await fetch(`${server.baseUrl}/metrics`)).text();
    expect(sample(text, 'natter_errors_total{code="UNAUTHENTICATED",transport="http"}')).toBe(1);
  });

  it('needs the bearer token when METRICS_TOKEN is set', async () => {
    const token = 'metrics-token-0123456789';
    const server = await start({ METRICS_TOKEN: token });
    expect((await fetch(`${server.baseUrl}/metrics`)).status).toBe(401);
    expect((await fetch(`${server.baseUrl}/metrics`, { headers: { authorization: 'Bearer wrong-token-0123456789' } })).status).toBe(401);
    const ok = await fetch(`${server.baseUrl}/metrics`, { headers: { authorization: `Bearer ${token}` } });
    expect(ok.status).toBe(200);
    expect(await ok.text()).toContain('natter_connections');
  });

  it('moves to its own listener with METRICS_PORT, off the public port', async () => {
    const token = 'metrics-token-0123456789';
    const server = await start({ METRICS_PORT: '0', METRICS_TOKEN: token });
    expect((await fetch(`${server.baseUrl}/metrics`)).status).toBe(404);
    const address = server.natter.metricsAddress!;
    expect(address).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect((await fetch(`${address}/metrics`)).status).toBe(401);
    const ok = await fetch(`${address}/metrics`, { headers: { authorization: `Bearer ${token}` } });
    expect(ok.status).toBe(200);
    expect(await ok.text()).toContain('# TYPE natter_ack_latency_seconds histogram');
  });
});

describe.skipIf(!nginxAvailable())('behind the shipped nginx template', () => {
  it('keeps /metrics off the proxy and passes Host with its port (for the same-origin check)', async () => {
    const server = await start();
    const nginx = await startNginx([Number(new URL(server.baseUrl).port)]);
    try {
      expect((await fetch(`${nginx.baseUrl}/metrics`)).status).toBe(404);
      expect((await fetch(`${server.baseUrl}/metrics`)).status).toBe(200);
      const origin = `http://127.0.0.1:${nginx.port}`;
      const status = await new Promise<number>((resolve, reject) => {
        const ws = new WebSocket(nginx.wsUrl, { headers: { origin } });
        ws.once('open', () => (ws.terminate(), resolve(101)));
        ws.once('unexpected-response', (_req, res) => (resolve(res.statusCode ?? 0), ws.terminate()));
        ws.once('error', reject);
      });
      expect(status, 'a same-origin browser upgrade through nginx').toBe(101);
    } finally {
      await nginx.stop();
    }
  });
});

describe('graceful shutdown', () => {
  it('goes not ready, refuses upgrades with 503 and moves clients away with 4010 in jittered batches', async () => {
    const server = await start();
    const user = await register(server);
    const room = await createRoom(server, user);
    const clients = await Promise.all(Array.from({ length: 20 }, () => TestClient.connect(server.wsUrl, user.accessToken)));
    await Promise.all(clients.map((c) => c.call('room.join', { room })));
    expect((await fetch(`${server.baseUrl}/readyz`)).status).toBe(200);

    const closedAt: number[] = [];
    const closes = clients.map((c) => c.closed.then((closed) => (closedAt.push(Date.now()), closed)));
    const started = Date.now();
    const done = server.natter.shutdown(4_000); // 20 sockets -> 1 per ~100 ms batch: about 2 s
    expect(server.natter.draining).toBe(true);
    await Promise.race(closes);
    // Inside the drain window: not ready, and upgrades are refused (the proxy retries another instance).
    const ready = await fetch(`${server.baseUrl}/readyz`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toMatchObject({ status: 'draining' });
    expect(await upgradeStatus(server.wsUrl)).toBe(503);
    expect(closedAt.length, 'the drain was still under way during the checks').toBeLessThan(clients.length);

    const results = await Promise.all(closes);
    await done;
    for (const r of results) expect(r.code).toBe(CLOSE_CODES.SERVER_DRAINING.code);
    closedAt.sort((x, y) => x - y);
    const spread = closedAt.at(-1)! - closedAt[0]!;
    console.log(`[drain] 20 sockets closed over ${spread} ms; shutdown took ${Date.now() - started} ms`);
    expect(spread).toBeGreaterThan(800); // batches, not all at once
    expect(spread).toBeLessThan(8_000);
    const text = await server.natter.metrics.scrape();
    expect(sample(text.body, 'natter_ws_closes_total{reason="SERVER_DRAINING"}')).toBe(20);
    expect(sample(text.body, 'natter_draining')).toBe(1);
    expect(sample(text.body, 'natter_ws_upgrades_refused_total{status="503"}')).toBe(1);
    await expect(fetch(`${server.baseUrl}/healthz`)).rejects.toThrow(); // the listener is closed
  });

  it('with nobody connected, shuts down at once', async () => {
    const server = await start();
    const started = Date.now();
    await server.natter.shutdown(5_000);
    expect(Date.now() - started).toBeLessThan(3_000);
  });
});
