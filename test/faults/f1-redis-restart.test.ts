/** F1: Redis kill -9 and restart under load — nothing acked is lost, no duplicates, order intact, no crash. */
import { afterAll, describe, expect, it } from 'vitest';
import { startCluster, type NatterCluster } from '../support/cluster.js';
import { createTestDatabase, type TestDatabase } from '../support/postgres.js';
import { startRedisServer, type RedisServer } from '../support/redis.js';
import { ChatLoad, expectNothingLost, printReport } from './load.js';
import { expectAlive, readyz, roomWithClients, servicesReady, within } from './support.js';

const ready = await servicesReady();

describe.skipIf(!ready)('F1 Redis kill -9 and restart under load', () => {
  let redis: RedisServer;
  let db: TestDatabase;
  let cluster: NatterCluster;
  afterAll(async () => {
    await cluster?.stop();
    await redis?.stop();
    await db?.drop();
  });

  it('loses no acked message', async () => {
    redis = await startRedisServer();
    db = await createTestDatabase();
    cluster = await startCluster({ instances: 2, redisUrl: redis.url, redisPrefix: 'f1:', databaseUrl: db.url });
    const { room, clients } = await roomWithClients(cluster, 2, 'f1');
    const load = new ChatLoad({ room, senders: clients, receivers: clients, rate: 20 });
    load.start();
    await within(10_000, () => load.ackedCount >= 50, 'load before the fault');
    await redis.kill();
    const ackedAtKill = load.ackedCount;
    await within(10_000, async () => !(await readyz(cluster.instances[0]!.baseUrl)), 'readiness drops while Redis is down');
    await within(10_000, () => load.ackedCount >= ackedAtKill + 40, 'sends still acked (the store is up) while Redis is down');
    await redis.restart();
    const recoveredIn = await within(15_000, async () => (await Promise.all(cluster.instances.map((i) => readyz(i.baseUrl)))).every(Boolean), 'all instances ready again');
    const ackedAtRestart = load.ackedCount;
    await within(10_000, () => load.ackedCount >= ackedAtRestart + 50, 'load after recovery');
    await load.stop();
    const report = await load.audit(1);
    printReport('F1', report, { recovered_ms_after_restart: recoveredIn });
    expectNothingLost(report);
    expectAlive(cluster);
    expect(report.receivedPerClient.every((n) => n === report.acked)).toBe(true);
  }, 90_000);
});
