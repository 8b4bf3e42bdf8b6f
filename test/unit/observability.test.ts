/** The Metrics port's adapters, the log formats, and the core's shutdown hook (in-flight sends settle). */
import { describe, expect, it } from 'vitest';
import { MemoryMetrics } from '../../src/adapters/metrics/memory-metrics.js';
import { PromMetrics } from '../../src/adapters/metrics/prom-metrics.js';
import { instrumentBroker } from '../../src/adapters/metrics/instrumented-broker.js';
import { MemoryBroker } from '../../src/adapters/memory/memory-broker.js';
import { METRICS } from '../../src/core/metrics.js';
import { asRoomId, asUserId } from '../../src/core/types.js';
import { createLogger, prettyLine } from '../../src/logger.js';

describe('PromMetrics', () => {
  it('registers every catalogue metric in its own registry and renders counters, histograms and gauges', async () => {
    const metrics = new PromMetrics({ processMetrics: false });
    metrics.count('messagesPersisted', { type: 'text' }, 2);
    metrics.observe('ackLatency', 0.003);
    metrics.gauge('connections', () => 7);
    metrics.gauge('dbPool', () => [
      { labels: { state: 'idle' }, value: 3 },
      { labels: { state: 'total' }, value: 5 },
    ]);
    const { body, contentType } = await metrics.scrape();
    expect(contentType).toMatch(/^text\/plain/);
    for (const spec of Object.values(METRICS)) expect(body).toContain(`# TYPE ${spec.name} ${spec.kind}`);
    expect(body).toContain('natter_messages_persisted_total{type="text"} 2');
    expect(body).toContain('natter_ack_latency_seconds_bucket{le="0.005"} 1');
    expect(body).toContain('natter_connections 7');
    expect(body).toContain('natter_db_pool_connections{state="idle"} 3');
    // A second instance in the same process has its own numbers.
    expect((await new PromMetrics({ processMetrics: false }).scrape()).body).not.toContain('natter_messages_persisted_total{type="text"} 2');
  });

  it('times with startTimer, merging labels given at the end', async () => {
    const metrics = new MemoryMetrics();
    const done = metrics.startTimer('dbQuery', { kind: 'transaction' });
    done({ outcome: 'ok' });
    expect(metrics.observed('dbQuery', { kind: 'transaction', outcome: 'ok' })).toHaveLength(1);
  });
});

describe('instrumentBroker', () => {
  it('counts publishes and receipts, stamps sentAt and observes the broker lag, and passes everything else through', async () => {
    const metrics = new MemoryMetrics();
    const inner = new MemoryBroker();
    const broker = instrumentBroker(inner, metrics, () => 1_000);
    const room = asRoomId('r1');
    const got: unknown[] = [];
    broker.onEnvelope((e) => got.push(e));
    await broker.subscribe(room);
    await broker.publish(room, { kind: 'typing', room, user: { id: asUserId('u'), name: 'u' } });
    await expect.poll(() => got.length).toBe(1);
    expect(got[0]).toMatchObject({ kind: 'typing', sentAt: 1_000 });
    expect(metrics.counter('brokerPublished', { kind: 'typing' })).toBe(1);
    expect(metrics.counter('brokerReceived', { kind: 'typing' })).toBe(1);
    expect(metrics.observed('brokerLag')).toEqual([0]);
    await expect(broker.probe(1_000)).resolves.toBeUndefined();
    await broker.close();
    await expect(broker.publish(room, { kind: 'typing', room, user: { id: asUserId('u'), name: 'u' } })).resolves.toBeUndefined();
  });
});

describe('logs', () => {
  const capture = (format: 'json' | 'pretty') => {
    const lines: string[] = [];
    const logger = createLogger({ logLevel: 'info', logFormat: format }, { write: (t: string) => lines.push(t), isTTY: false });
    return { logger, lines };
  };

  it('writes JSON lines with secrets redacted', () => {
    const { logger, lines } = capture('json');
    logger.info({ session: 's1', password: 'hunter2hunter2', req: { headers: { authorization: 'Bearer abc.def' } }, user: { token: 'tok' } }, 'hello');
    const entry = JSON.parse(lines[0]!) as Record<string, any>;
    expect(entry).toMatchObject({ level: 30, msg: 'hello', session: 's1' });
    expect(lines[0]).not.toMatch(/hunter2|abc\.def|"tok"/);
  });

  it('prints a human-readable line (and an error stack) in pretty mode', () => {
    const { logger, lines } = capture('pretty');
    logger.warn({ session: 's1', err: new Error('boom') }, 'something failed');
    expect(lines[0]).toMatch(/^\d\d:\d\d:\d\d\.\d{3} WARN  something failed {2}session=s1 err="boom"\n {4}Error: boom/);
    expect(prettyLine('not json', false)).toBe('not json');
  });
});

describe('core: counts and the shutdown hook', () => {
  it('counts a send, times its ack, and settled() waits for sends still committing', async () => {
    const { ChatService } = await import('../../src/core/chat.js');
    const { Hub } = await import('../../src/core/hub.js');
    const { RoomService } = await import('../../src/core/rooms.js');
    const { MemoryStore } = await import('../../src/adapters/memory/memory-store.js');
    const { MemoryPresence } = await import('../../src/adapters/memory/memory-presence.js');
    const { MemoryRateLimiter } = await import('../../src/adapters/memory/memory-rate-limiter.js');
    const { asSessionId } = await import('../../src/core/types.js');
    const silent = { debug() {}, info() {}, warn() {}, error() {} };
    const metrics = new MemoryMetrics();
    const store = new MemoryStore();
    const broker = new MemoryBroker();
    const clock = { now: () => Date.now() };
    let n = 0;
    const limits = {
      maxBodyChars: 100,
      historyOnJoin: 10,
      catchUpPage: 10,
      refreshTokenTtlSeconds: 60,
      maxRoomsPerSession: 10,
      messageRate: { capacity: 100, perSecond: 100 },
      typingRate: { capacity: 100, perSecond: 100 },
      loginFailureRate: { capacity: 10, perSecond: 1 },
    };
    const deps = { store, broker, presence: new MemoryPresence(), clock, ids: { next: () => `id${++n}` }, limits, rateLimiter: new MemoryRateLimiter(clock), log: silent, metrics };
    const hub = new Hub({ broker, store, log: silent, pageSize: 10, metrics });
    broker.onEnvelope((e) => hub.dispatch(e));
    const rooms = new RoomService(deps);
    const chat = new ChatService(deps, rooms, hub);
    const principal = { userId: asUserId('u1'), username: 'ana' };
    await store.createUser({ id: principal.userId, username: 'ana', passwordHash: 'x', createdAt: 0 });
    const room = await rooms.create(principal, 'lobby', 'public');
    const frames: unknown[] = [];
    const port = { id: asSessionId('s1'), principal, push: (f: unknown) => frames.push(f), drained: async () => undefined, end: () => undefined };
    chat.connect(port as never);
    const joined = await chat.join(port.id, room.id, 0);
    joined.start();

    // Hold the commit: the send is in flight until the gate opens.
    const append = store.append.bind(store);
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    store.append = async (input) => (await gate, append(input));
    const sent = chat.send(port.id, room.id, 'hi', 'c1');
    let settled = false;
    void chat.settled().then(() => (settled = true));
    await new Promise((r) => setTimeout(r, 20));
    expect(settled, 'settled() waits for the commit').toBe(false);
    open();
    await sent;
    await expect.poll(() => settled).toBe(true);

    expect(metrics.counter('messagesReceived')).toBe(1);
    expect(metrics.counter('messagesPersisted', { type: 'text' })).toBe(1);
    expect(metrics.counter('messagesPersisted', { type: 'system' })).toBe(1);
    expect(metrics.counter('resumes')).toBe(1);
    expect(metrics.observed('ackLatency')).toHaveLength(1);
    await expect.poll(() => metrics.counter('messagesDelivered', { path: 'live' }) + metrics.counter('messagesDelivered', { path: 'replay' })).toBe(2);
    await expect(chat.settled()).resolves.toBeUndefined(); // nothing in flight: at once
  });
});

describe('operations configuration', () => {
  it('has safe defaults and refuses inconsistent shutdown and metrics settings', async () => {
    const { loadConfig } = await import('../../src/config.js');
    expect(loadConfig({})).toMatchObject({ shutdownTimeoutMs: 30_000, shutdownDrainMs: 5_000, metricsToken: null, metricsPort: null, metricsHost: '127.0.0.1', logFormat: 'auto' });
    expect(loadConfig({ METRICS_PORT: '9091', METRICS_HOST: '0.0.0.0', LOG_FORMAT: 'json' })).toMatchObject({ metricsPort: 9091, metricsHost: '0.0.0.0', logFormat: 'json' });
    expect(() => loadConfig({ SHUTDOWN_TIMEOUT_MS: '10000', SHUTDOWN_DRAIN_MS: '6000' })).toThrow(/SHUTDOWN_DRAIN_MS must be at most half/);
    expect(() => loadConfig({ METRICS_TOKEN: 'short' })).toThrow(/METRICS_TOKEN must be at least 16/);
    expect(() => loadConfig({ LOG_FORMAT: 'xml' })).toThrow(/LOG_FORMAT/);
  });
});
