/** F4: PostgreSQL restart under load — no ack while it is down (retryable errors), nothing acked lost, no duplicate row. */
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { startCluster, type NatterCluster } from '../support/cluster.js';
import { pgServerAvailable, startPgServer, type PgServer } from '../support/pg-server.js';
import { deletePrefix, TEST_REDIS_URL, uniquePrefix } from '../support/redis.js';
import { ChatLoad, expectNothingLost, printReport } from './load.js';
import { expectAlive, roomWithClients, servicesReady, within } from './support.js';

const ready = (await servicesReady()) && pgServerAvailable();

describe.skipIf(!ready)('F4 PostgreSQL restart under load', () => {
  let server: PgServer;
  let cluster: NatterCluster;
  const prefix = uniquePrefix();
  afterAll(async () => {
    await cluster?.stop();
    server?.destroy();
    await deletePrefix(prefix);
  });

  it('acks nothing while the database is down, then loses nothing and stores each message once', async () => {
    server = await startPgServer();
    const admin = new pg.Client({ connectionString: server.url });
    await admin.connect();
    await admin.query('create database natter');
    await admin.end();
    cluster = await startCluster({ instances: 2, redisUrl: TEST_REDIS_URL, redisPrefix: prefix, databaseUrl: server.databaseUrl('natter') });
    const { room, clients } = await roomWithClients(cluster, 2, 'f4');
    const load = new ChatLoad({ room, senders: clients, receivers: clients, rate: 20, ackTimeoutMs: 2_000 });
    load.start();
    await within(10_000, () => load.ackedCount >= 50, 'load before the fault');

    const stoppedAt = Date.now();
    server.stopServer();
    // While it is down, sends get a retryable error and no ack (acks already on the wire when it stopped may land).
    await within(10_000, () => load.errorCount('UNAVAILABLE') > 0, 'a retryable UNAVAILABLE');
    const ackedAtFirstError = load.ackedCount;
    await within(10_000, () => load.errorCount('UNAVAILABLE') >= 40, 'sends refused while down');
    const ackedWhileDown = load.ackedCount;
    server.startServer();
    const downMs = Date.now() - stoppedAt;
    expect(ackedWhileDown).toBe(ackedAtFirstError);
    const recoveredIn = await within(20_000, () => load.ackedCount >= ackedWhileDown + 50, 'acks again after the restart');
    await load.stop();
    const report = await load.audit(1);

    const check = new pg.Client({ connectionString: server.databaseUrl('natter') });
    await check.connect();
    const rows = await check.query<{ n: string; distinct_ids: string }>(
      'select count(*) as n, count(distinct client_msg_id) as distinct_ids from messages where room_id = $1 and client_msg_id is not null',
      [room],
    );
    await check.end();
    printReport('F4', report, { down_ms: downMs, recovered_ms_after_start: recoveredIn, rows: Number(rows.rows[0]!.n) });
    expectNothingLost(report);
    expect(report.errors.UNAVAILABLE ?? 0).toBeGreaterThan(0);
    expect(Number(rows.rows[0]!.n)).toBe(report.acked);
    expect(Number(rows.rows[0]!.distinct_ids)).toBe(report.acked);
    expectAlive(cluster);
  }, 120_000);
});
