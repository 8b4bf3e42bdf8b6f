/**
 * Scale-out with real components: 3 natter processes sharing the local Redis (own prefix) and PostgreSQL (own
 * database), Debian's nginx in front with the shipped config. D4, D5, D8 and per-room subscriptions.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient } from 'redis';
import { startCluster, type NatterCluster } from '../support/cluster.js';
import { nginxAvailable } from '../support/nginx.js';
import { createTestDatabase, probePostgres, type TestDatabase } from '../support/postgres.js';
import { deletePrefix, redisAvailable, startRedisCluster, TEST_REDIS_URL, uniquePrefix, type RedisCluster } from '../support/redis.js';
import { PASSWORD } from '../support/server.js';
import { range, seqs, TestClient } from '../support/ws-client.js';

const ready = (await redisAvailable()) && (await probePostgres()).available && nginxAvailable();
if (!ready && process.env.REQUIRE_SERVICES === '1') throw new Error('scale-out tests need Redis, PostgreSQL and nginx');

async function post(base: string, path: string, body: unknown, token?: string): Promise<any> {
  const res = await fetch(base + path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
  return res.json();
}

describe.skipIf(!ready)('three instances behind nginx', () => {
  const prefix = uniquePrefix();
  let db: TestDatabase;
  let cluster: NatterCluster;
  const users: Array<{ access_token: string; user: { id: string; username: string } }> = [];

  beforeAll(async () => {
    db = await createTestDatabase();
    cluster = await startCluster({
      instances: 3,
      redisUrl: TEST_REDIS_URL,
      redisPrefix: prefix,
      databaseUrl: db.url,
      nginx: true,
      env: { PRESENCE_LEASE_MS: '3000' },
    });
    for (const name of ['ana', 'ben', 'cai']) users.push(await post(cluster.baseUrl, '/api/auth/register', { username: `${name}${process.pid}`, password: PASSWORD }));
  }, 60_000);
  afterAll(async () => {
    await cluster?.stop();
    await db?.drop();
    await deletePrefix(prefix);
  });

  const newRoom = async (name: string) => (await post(cluster.baseUrl, '/api/rooms', { name: `${name}-${Date.now()}` }, users[0]!.access_token)).id as string;

  it('serves the API and WebSocket upgrades through nginx', async () => {
    const res = await fetch(`${cluster.baseUrl}/readyz`);
    expect(res.status).toBe(200);
    const room = await newRoom('via-nginx');
    const c = await TestClient.connect(cluster.wsUrl, users[1]!.access_token);
    await c.call('room.join', { room });
    const ack = await c.call('message.send', { room, body: 'through the proxy', client_msg_id: 'n1' });
    await c.waitForSeq(room, ack.seq);
    await c.close();
  });

  it('concurrent senders on every instance: every client on every instance sees 1..N in order (D2, D4)', async () => {
    const room = await newRoom('d4');
    const clients: TestClient[] = [];
    for (const instance of cluster.instances) {
      for (const u of users) clients.push(await TestClient.connect(instance.wsUrl, u.access_token));
    }
    await Promise.all(clients.map((c) => c.call('room.join', { room })));
    const perClient = 40;
    const acks = await Promise.all(
      clients.flatMap((c, ci) => range(1, perClient).map((i) => c.call('message.send', { room, body: `m${ci}.${i}`, client_msg_id: `c${ci}-${i}` }))),
    );
    const head = 1 + clients.length * perClient;
    expect(acks.map((a) => a.seq).sort((a, b) => a - b)).toEqual(range(2, head));
    await Promise.all(clients.map((c) => c.waitForSeq(room, head)));
    for (const c of clients) expect(seqs(c, room)).toEqual(range(1, head));
    await Promise.all(clients.map((c) => c.close()));
  });

  it('shares presence and typing across instances; an instance subscribes to a room only while it has members there', async () => {
    const room = await newRoom('presence');
    const [i0, i1, i2] = cluster.instances;
    const a = await TestClient.connect(i0!.wsUrl, users[0]!.access_token);
    await a.call('room.join', { room });
    const joined = a.nextNew((f) => f.type === 'presence.joined' && (f.user as any).id === users[1]!.user.id);
    const b = await TestClient.connect(i1!.wsUrl, users[1]!.access_token);
    const jb = await b.call('room.join', { room });
    expect(jb.members.map((m: any) => m.id).sort()).toEqual([users[0]!.user.id, users[1]!.user.id].sort());
    await joined;
    const typing = a.nextNew((f) => f.type === 'typing');
    await b.call('typing', { room });
    expect((await typing).user).toMatchObject({ id: users[1]!.user.id });

    const redis = createClient({ url: TEST_REDIS_URL });
    await redis.connect();
    const channel = `${prefix}chat_room:{${room}}`;
    const subscribers = async () => Number((await redis.pubSubNumSub(channel))[channel]);
    expect(await subscribers()).toBe(2); // i0 and i1, not i2
    const left = a.nextNew((f) => f.type === 'presence.left');
    await b.call('room.leave', { room });
    await left;
    expect(await subscribers()).toBe(1);
    await redis.close();
    void i2;
    await Promise.all([a.close(), b.close()]);
  });

  it('a message the broker never carried reaches every member within 5 s although the room goes quiet (D5)', async () => {
    const room = await newRoom('d5');
    const watchers = await Promise.all(cluster.instances.map((i) => TestClient.connect(i.wsUrl, users[2]!.access_token)));
    await Promise.all(watchers.map((w) => w.call('room.join', { room })));
    // An instance on the same database whose broker talks to a different prefix: its publishes reach no one.
    const deaf = await cluster.addInstance({ REDIS_PREFIX: `${prefix}elsewhere:` });
    const sender = await TestClient.connect(deaf.wsUrl, users[0]!.access_token);
    await sender.call('room.join', { room });
    const started = Date.now();
    const ack = await sender.call('message.send', { room, body: 'lost on the way', client_msg_id: 'lost-1' });
    await Promise.all(watchers.map((w) => w.waitForSeq(room, ack.seq, 5_000)));
    const took = Date.now() - started;
    console.log(`[D5] message lost by the broker reached ${watchers.length} instances' clients in ${took} ms`);
    expect(took).toBeLessThan(5_000);
    for (const w of watchers) expect(seqs(w, room)).toEqual(range(1, ack.seq));
    await Promise.all([...watchers, sender].map((c) => c.close()));
  });

  it('members of a crashed instance leave everyone’s presence, with leave events, within 30 s (D8)', async () => {
    const room = await newRoom('d8');
    const victim = await cluster.addInstance();
    const observer = await TestClient.connect(cluster.instances[0]!.wsUrl, users[0]!.access_token);
    await observer.call('room.join', { room });
    const doomed = await TestClient.connect(victim.wsUrl, users[2]!.access_token);
    await doomed.call('room.join', { room });
    await observer.next((f) => f.type === 'presence.joined' && (f.user as any).id === users[2]!.user.id);
    const left = observer.nextNew((f) => f.type === 'presence.left' && (f.user as any).id === users[2]!.user.id, 30_000);
    const killedAt = Date.now();
    victim.child.kill('SIGKILL');
    await left;
    const took = Date.now() - killedAt;
    console.log(`[D8] crashed instance's member left presence after ${took} ms (lease 3 s)`);
    expect(took).toBeLessThan(30_000);
    expect((await observer.call('presence.list', { room })).members.map((m: any) => m.id)).toEqual([users[0]!.user.id]);
    await observer.close();
  });
});

describe.skipIf(!ready)('two instances on a 3-master Redis Cluster (sharded Pub/Sub)', () => {
  let redisCluster: RedisCluster;
  let db: TestDatabase;
  let cluster: NatterCluster;
  afterAll(async () => {
    await cluster?.stop();
    await redisCluster?.stop();
    await db?.drop();
  });

  it('shares rooms, order and presence across instances', async () => {
    redisCluster = await startRedisCluster(3);
    db = await createTestDatabase();
    cluster = await startCluster({ instances: 2, redisUrl: redisCluster.url, redisPrefix: 'c:', databaseUrl: db.url, env: { REDIS_CLUSTER: 'true' } });
    const ana = await post(cluster.baseUrl, '/api/auth/register', { username: `cana${process.pid}`, password: PASSWORD });
    const ben = await post(cluster.baseUrl, '/api/auth/register', { username: `cben${process.pid}`, password: PASSWORD });
    const rooms: string[] = [];
    for (let i = 0; i < 6; i++) rooms.push((await post(cluster.baseUrl, '/api/rooms', { name: `sharded-${i}` }, ana.access_token)).id);
    const a = await TestClient.connect(cluster.instances[0]!.wsUrl, ana.access_token);
    const b = await TestClient.connect(cluster.instances[1]!.wsUrl, ben.access_token);
    for (const room of rooms) {
      await a.call('room.join', { room });
      const seen = a.nextNew((f) => f.type === 'presence.joined' && (f as any).room === room);
      await b.call('room.join', { room });
      await seen;
    }
    // Rooms hash to different slots, so to different shards; every one must flow both ways, in order.
    await Promise.all(
      rooms.flatMap((room) => range(1, 10).flatMap((i) => [
        a.call('message.send', { room, body: `a${i}`, client_msg_id: `a${i}` }),
        b.call('message.send', { room, body: `b${i}`, client_msg_id: `b${i}` }),
      ])),
    );
    for (const room of rooms) {
      await a.waitForSeq(room, 21);
      await b.waitForSeq(room, 21);
      expect(seqs(a, room)).toEqual(range(1, 21));
      expect(seqs(b, room)).toEqual(range(1, 21));
    }
    expect((await fetch(`${cluster.instances[1]!.baseUrl}/readyz`)).status).toBe(200);
    await Promise.all([a.close(), b.close()]);
  }, 90_000);
});
