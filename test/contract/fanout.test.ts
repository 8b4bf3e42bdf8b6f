/** The Broker + Presence contract on the in-process adapters, a Redis server and a 3-master Redis Cluster. */
import { afterAll, beforeAll, describe } from 'vitest';
import { randomBytes } from 'node:crypto';
import { MemoryBroker } from '../../src/adapters/memory/memory-broker.js';
import { MemoryPresence } from '../../src/adapters/memory/memory-presence.js';
import { connectRedis } from '../../src/adapters/redis/redis-connection.js';
import { RedisBroker } from '../../src/adapters/redis/redis-broker.js';
import { RedisPresence } from '../../src/adapters/redis/redis-presence.js';
import type { Logger } from '../../src/core/deps.js';
import { deletePrefix, redisAvailable, startRedisCluster, TEST_REDIS_URL, uniquePrefix, type RedisCluster } from '../support/redis.js';
import { runFanOutContract, type FanOutPair } from './fanout-contract.js';

const quiet: Logger = { debug() {}, info() {}, warn() {}, error() {} };
const LEASE_MS = 1_000;

runFanOutContract('in-process (MemoryBroker + MemoryPresence)', async () => {
  const node = { broker: new MemoryBroker(), presence: new MemoryPresence() };
  return {
    a: node,
    b: node,
    distributed: false,
    cleanup: async () => {
      await node.broker.close();
      await node.presence.close();
    },
  };
}, { leases: false });

async function redisPair(url: string, cluster: boolean, prefix: string): Promise<FanOutPair> {
  const instance = async () => {
    const id = randomBytes(4).toString('hex');
    const redis = await connectRedis({ url, cluster, log: quiet });
    const broker = await RedisBroker.start(redis, prefix, quiet, id);
    const presence = new RedisPresence(redis, { prefix, instanceId: id, leaseMs: LEASE_MS, log: quiet });
    return { broker, presence };
  };
  const [a, b] = await Promise.all([instance(), instance()]);
  let aClosed = false;
  const closeA = async () => {
    if (aClosed) return;
    aClosed = true;
    await a.presence.close();
    await a.broker.close();
  };
  return {
    a,
    b,
    distributed: true,
    leaseMs: LEASE_MS,
    crashA: closeA,
    cleanup: async () => {
      await closeA();
      await b.presence.close();
      await b.broker.close();
      if (!cluster) await deletePrefix(prefix, url);
    },
  };
}

const hasRedis = await redisAvailable();

describe.skipIf(!hasRedis)('on the shared Redis server', () => {
  const prefix = uniquePrefix();
  runFanOutContract(`Redis (${TEST_REDIS_URL})`, () => redisPair(TEST_REDIS_URL, false, prefix), { leases: true });
});

describe.skipIf(!hasRedis)('on a 3-master Redis Cluster (sharded Pub/Sub)', () => {
  let cluster: RedisCluster;
  beforeAll(async () => {
    cluster = await startRedisCluster(3);
  }, 60_000);
  afterAll(() => cluster?.stop());
  runFanOutContract('Redis Cluster', () => redisPair(cluster.url, true, uniquePrefix()), { leases: true });
});
