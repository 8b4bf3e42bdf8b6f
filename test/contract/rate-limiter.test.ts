/** The RateLimiter contract on the in-process buckets, a Redis server and a 3-master Redis Cluster. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryRateLimiter } from '../../src/adapters/memory/memory-rate-limiter.js';
import { connectRedis, type RedisHandles } from '../../src/adapters/redis/redis-connection.js';
import { LEASE_MS, RedisRateLimiter } from '../../src/adapters/redis/redis-rate-limiter.js';
import type { Logger } from '../../src/core/deps.js';
import { deletePrefix, redisAvailable, startRedisCluster, TEST_REDIS_URL, uniquePrefix, type RedisCluster } from '../support/redis.js';
import { runRateLimiterContract } from './rate-limiter-contract.js';

const quiet: Logger = { debug() {}, info() {}, warn() {}, error() {} };

runRateLimiterContract('in-process (MemoryRateLimiter)', async () => {
  const limiter = new MemoryRateLimiter();
  return { a: limiter, b: limiter, cleanup: () => limiter.close() };
});

describe('MemoryRateLimiter memory bound', () => {
  it('forgets full buckets and never holds more than its maximum', async () => {
    let now = 0;
    const limiter = new MemoryRateLimiter({ now: () => now }, 100, 1_000);
    for (let i = 0; i < 5_000; i++) await limiter.take(`k${i}`, { capacity: 10, perSecond: 1 });
    expect(limiter.size).toBeLessThanOrEqual(1_000);
    now += 60_000; // everything refilled
    await limiter.take('last', { capacity: 10, perSecond: 1 });
    await limiter.take('last2', { capacity: 10, perSecond: 1 });
    expect(limiter.size).toBeLessThanOrEqual(101);
  });
});

async function redisPair(url: string, cluster: boolean, prefix: string) {
  const [ra, rb] = await Promise.all([connectRedis({ url, cluster, log: quiet }), connectRedis({ url, cluster, log: quiet })]);
  return {
    a: new RedisRateLimiter(ra, prefix, quiet),
    b: new RedisRateLimiter(rb, prefix, quiet),
    cleanup: async () => {
      await Promise.all([ra.quit(), rb.quit()]);
      if (!cluster) await deletePrefix(prefix, url);
    },
  };
}

const hasRedis = await redisAvailable();

describe.skipIf(!hasRedis)('on the shared Redis server', () => {
  runRateLimiterContract(`Redis (${TEST_REDIS_URL})`, () => redisPair(TEST_REDIS_URL, false, uniquePrefix()));
});

describe.skipIf(!hasRedis)('on a 3-master Redis Cluster', () => {
  let cluster: RedisCluster;
  beforeAll(async () => {
    cluster = await startRedisCluster(3);
  }, 60_000);
  afterAll(() => cluster?.stop());
  runRateLimiterContract('Redis Cluster', () => redisPair(cluster.url, true, uniquePrefix()));
});

describe('leased rules while Redis fails', () => {
  it('answers every waiting take from the per-instance buckets after one failed round trip, not one failure each', async () => {
    let calls = 0;
    const failing = {
      eval: async () => {
        calls++;
        await new Promise((resolve) => setTimeout(resolve, 50));
        throw new Error('redis: command timed out');
      },
    } as unknown as RedisHandles;
    const limiter = new RedisRateLimiter(failing, 'unused:', quiet);
    const decisions = await Promise.all(Array.from({ length: 20 }, () => limiter.take('k', { capacity: 100, perSecond: 1, lease: true })));
    expect(decisions.every((d) => d.allowed)).toBe(true);
    expect(calls).toBe(1);
  });
});

describe.skipIf(!hasRedis)('leased rules on Redis (RateRule.lease)', () => {
  /** Two limiters on one Redis prefix whose Lua calls are counted; `clock.now` is theirs. */
  async function leasedPair() {
    const prefix = uniquePrefix();
    const clock = { now: Date.now() };
    const calls = { a: 0, b: 0 };
    const [ra, rb] = await Promise.all([connectRedis({ url: TEST_REDIS_URL, cluster: false, log: quiet }), connectRedis({ url: TEST_REDIS_URL, cluster: false, log: quiet })]);
    const counted = (handles: RedisHandles, which: 'a' | 'b'): RedisHandles => ({
      ...handles,
      eval: (...args) => {
        calls[which]++;
        return handles.eval(...args);
      },
    });
    return {
      a: new RedisRateLimiter(counted(ra, 'a'), prefix, quiet, () => clock.now),
      b: new RedisRateLimiter(counted(rb, 'b'), prefix, quiet, () => clock.now),
      calls,
      clock,
      cleanup: async () => {
        await Promise.all([ra.quit(), rb.quit()]);
        await deletePrefix(prefix, TEST_REDIS_URL);
      },
    };
  }
  const leased = { capacity: 100, perSecond: 0.001, lease: true };

  it('takes a tenth of the capacity per round trip and spends it locally', async () => {
    const { a, calls, cleanup } = await leasedPair();
    try {
      for (let i = 0; i < 30; i++) expect((await a.take('sender', leased)).allowed).toBe(true);
      expect(calls.a).toBe(3);
      expect((await a.take('sender', leased)).remaining).toBe(69);
    } finally {
      await cleanup();
    }
  });

  it('makes one round trip per lease when takes run in parallel, so no instance leases more than it spends', async () => {
    const { a, b, calls, cleanup } = await leasedPair();
    try {
      const decisions = await Promise.all(Array.from({ length: 30 }, () => a.take('parallel-one', leased)));
      expect(decisions.every((d) => d.allowed)).toBe(true);
      expect(calls.a).toBe(3);
      // A bucket as large as its refill (the tests' and the bench's raised limits): two busy instances both get theirs.
      const large = { capacity: 1_000_000, perSecond: 1_000_000, lease: true };
      const both = await Promise.all(Array.from({ length: 600 }, (_, i) => (i % 2 ? a : b).take('large', large)));
      expect(both.filter((d) => !d.allowed)).toEqual([]);
    } finally {
      await cleanup();
    }
  });

  it('never lets two instances spend more than the shared capacity', async () => {
    const { a, b, cleanup } = await leasedPair();
    try {
      let allowed = 0;
      for (let i = 0; i < 150; i++) if ((await (i % 2 ? a : b).take('shared', leased)).allowed) allowed++;
      expect(allowed).toBeLessThanOrEqual(100);
      // Refused only while the other instance held unspent leased tokens: at most one lease each, less its first token.
      expect(allowed).toBeGreaterThanOrEqual(100 - 2 * 9);
      const parallel = await Promise.all(Array.from({ length: 200 }, (_, i) => (i % 2 ? a : b).take('parallel', { capacity: 50, perSecond: 0.001, lease: true })));
      expect(parallel.filter((d) => d.allowed).length).toBeLessThanOrEqual(50);
      expect(parallel.filter((d) => d.allowed).length).toBeGreaterThanOrEqual(50 - 2 * 4);
    } finally {
      await cleanup();
    }
  });

  it('lets unspent leased tokens lapse after LEASE_MS, and leases nothing from small buckets or for cost 0', async () => {
    const { a, calls, clock, cleanup } = await leasedPair();
    try {
      await a.take('lapse', leased);
      expect(calls.a).toBe(1);
      clock.now += LEASE_MS;
      await a.take('lapse', leased);
      expect(calls.a).toBe(2); // the 9 leased tokens lapsed: a round trip, and the bucket shows them spent
      expect((await a.take('lapse', leased)).remaining).toBe(100 - 20 + 8);
      const before = calls.a;
      for (let i = 0; i < 5; i++) await a.take('small', { capacity: 19, perSecond: 0.001, lease: true });
      await a.take('lapse', leased, 0);
      expect(calls.a - before).toBe(6);
    } finally {
      await cleanup();
    }
  });
});
