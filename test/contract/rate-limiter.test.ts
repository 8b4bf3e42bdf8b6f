/** The RateLimiter contract on the in-process buckets, a Redis server and a 3-master Redis Cluster. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryRateLimiter } from '../../src/adapters/memory/memory-rate-limiter.js';
import { connectRedis } from '../../src/adapters/redis/redis-connection.js';
import { RedisRateLimiter } from '../../src/adapters/redis/redis-rate-limiter.js';
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
