/**
 * F3: one of 3 instances is killed (-9) mid-broadcast. Clients (the SDK, through nginx) are back on the other
 * instances within 15 s, nothing acked is lost, and every client_msg_id is stored exactly once.
 */
import pg from 'pg';
import WebSocket from 'ws';
import { afterAll, describe, expect, it } from 'vitest';
import { NatterClient } from '../../client/natter-client.js';
import type { SendResult, WireMessage } from '../../src/protocol/frames.js';
import { startCluster, type NatterCluster } from '../support/cluster.js';
import { nginxAvailable } from '../support/nginx.js';
import { createTestDatabase, type TestDatabase } from '../support/postgres.js';
import { deletePrefix, TEST_REDIS_URL, uniquePrefix } from '../support/redis.js';
import { PASSWORD } from '../support/server.js';
import { range } from '../support/ws-client.js';
import { expectAlive, post, servicesReady, within } from './support.js';

const ready = (await servicesReady()) && nginxAvailable();

describe.skipIf(!ready)('F3 one of 3 instances killed mid-broadcast', () => {
  let db: TestDatabase;
  let cluster: NatterCluster;
  const prefix = uniquePrefix();
  const clients: NatterClient[] = [];
  afterAll(async () => {
    for (const c of clients) c.close();
    await cluster?.stop();
    await db?.drop();
    await deletePrefix(prefix);
  });

  it('reconnects every client within 15 s and loses nothing', async () => {
    db = await createTestDatabase();
    cluster = await startCluster({ instances: 3, redisUrl: TEST_REDIS_URL, redisPrefix: prefix, databaseUrl: db.url, nginx: true, env: { PRESENCE_LEASE_MS: '3000' } });
    const user = await post(cluster.baseUrl, '/api/auth/register', { username: `f3${process.pid}`, password: PASSWORD });
    const room = (await post(cluster.baseUrl, '/api/rooms', { name: `f3-${Date.now()}` }, user.access_token)).id as string;

    const received: WireMessage[][] = [];
    const reconnectedAt: Array<number | null> = [];
    const droppedAt: Array<number | null> = [];
    for (let i = 0; i < 9; i++) {
      const client = new NatterClient({ url: cluster.wsUrl, getToken: () => user.access_token, WebSocket: WebSocket as never, commandTimeoutMs: 3_000 });
      received.push([]);
      droppedAt.push(null);
      reconnectedAt.push(null);
      client.on('message', (m) => received[i]!.push(m));
      client.on('state', (s) => {
        if (s.state === 'reconnecting' && droppedAt[i] === null) droppedAt[i] = Date.now();
        if (s.state === 'connected' && droppedAt[i] !== null && reconnectedAt[i] === null) reconnectedAt[i] = Date.now();
      });
      client.connect();
      await client.join(room);
      clients.push(client);
    }

    const acks: Array<Promise<SendResult>> = [];
    let n = 0;
    const timer = setInterval(() => {
      for (const [ci, c] of clients.entries()) acks.push(c.send(room, `f3 ${ci}/${++n}`, { clientMsgId: `f3-${ci}-${n}` }));
    }, 50);
    await within(10_000, () => acks.length >= 200, 'load before the fault');
    const victim = cluster.instances[1]!;
    const killedAt = Date.now();
    victim.child.kill('SIGKILL');
    await victim.exited;
    await within(15_000, () => droppedAt.some((d) => d !== null), 'a client notices its instance died');
    await within(15_000, () => droppedAt.every((d, i) => d === null || reconnectedAt[i] !== null), 'every dropped client reconnected');
    const sentAfter = acks.length;
    await within(10_000, () => acks.length >= sentAfter + 200, 'load after the fault');
    clearInterval(timer);
    const results = await Promise.all(acks);
    const head = Math.max(...results.map((r) => r.seq));
    await within(15_000, () => received.every((r) => r.at(-1)?.seq === head), 'every client caught up');

    const ackedSeqs = new Set(results.map((r) => r.seq));
    let lost = 0;
    let duplicated = 0;
    let outOfOrder = 0;
    for (const stream of received) {
      const seqs = stream.map((m) => m.seq);
      const unique = new Set(seqs);
      duplicated += seqs.length - unique.size;
      for (let i = 1; i < seqs.length; i++) if (seqs[i]! <= seqs[i - 1]!) outOfOrder++;
      for (const s of ackedSeqs) if (!unique.has(s)) lost++;
    }
    const check = new pg.Client({ connectionString: db.url });
    await check.connect();
    const dupRows = await check.query('select client_msg_id from messages where room_id = $1 and client_msg_id is not null group by client_msg_id having count(*) > 1', [room]);
    const rowCount = await check.query<{ n: string }>('select count(*) as n from messages where room_id = $1 and client_msg_id is not null', [room]);
    await check.end();
    const dropped = droppedAt.filter((d) => d !== null).length;
    const backWithin = Math.max(...reconnectedAt.map((r) => (r === null ? 0 : r - killedAt)));
    console.log(
      `[F3] ${JSON.stringify({ clients: clients.length, dropped_clients: dropped, back_within_ms: backWithin, sent: acks.length, acked: results.length, lost, duplicated, outOfOrder, duplicate_rows: dupRows.rowCount, rows: Number(rowCount.rows[0]!.n) })}`,
    );
    expect(dropped).toBeGreaterThan(0);
    expect(backWithin).toBeLessThan(15_000);
    expect(lost).toBe(0);
    expect(duplicated).toBe(0);
    expect(outOfOrder).toBe(0);
    expect(dupRows.rowCount).toBe(0);
    expect(Number(rowCount.rows[0]!.n)).toBe(results.length);
    expect(new Set(results.map((r) => r.id)).size).toBe(results.length);
    for (const stream of received) expect(stream.map((m) => m.seq)).toEqual(range(stream[0]!.seq, head));
    cluster.instances.splice(1, 1);
    expectAlive(cluster);
  }, 120_000);
});
