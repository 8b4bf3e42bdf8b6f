/** Shared set-up for fault tests: services check, users, a room with clients on every instance, waits. */
import { expect } from 'vitest';
import type { NatterCluster } from '../support/cluster.js';
import { probePostgres } from '../support/postgres.js';
import { redisAvailable } from '../support/redis.js';
import { PASSWORD } from '../support/server.js';
import { TestClient } from '../support/ws-client.js';

export async function servicesReady(): Promise<boolean> {
  const ok = (await redisAvailable()) && (await probePostgres()).available;
  if (!ok && process.env.REQUIRE_SERVICES === '1') throw new Error('fault tests need Redis and PostgreSQL');
  return ok;
}

export async function post(base: string, path: string, body: unknown, token?: string): Promise<any> {
  const res = await fetch(base + path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
  return res.json();
}

/** Two users, a room, and `perInstance` clients joined on every instance (alternating users). */
export async function roomWithClients(cluster: NatterCluster, perInstance: number, tag: string) {
  const users = [];
  for (const name of ['f', 'g']) users.push(await post(cluster.instances[0]!.baseUrl, '/api/auth/register', { username: `${name}${tag}${process.pid}`, password: PASSWORD }));
  const room = (await post(cluster.instances[0]!.baseUrl, '/api/rooms', { name: `fault-${tag}-${Date.now()}` }, users[0].access_token)).id as string;
  const clients: TestClient[] = [];
  for (const instance of cluster.instances) {
    for (let i = 0; i < perInstance; i++) clients.push(await TestClient.connect(instance.wsUrl, users[i % 2].access_token));
  }
  await Promise.all(clients.map((c) => c.call('room.join', { room })));
  return { users, room, clients };
}

/** Polls (bounded) until `test` holds; answers how long it took. */
export async function within(ms: number, test: () => boolean | Promise<boolean>, what: string): Promise<number> {
  const started = Date.now();
  while (!(await test())) {
    if (Date.now() - started > ms) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return Date.now() - started;
}

export const readyz = async (baseUrl: string) => (await fetch(`${baseUrl}/readyz`).catch(() => undefined))?.status === 200;
export const notReady = async (baseUrl: string) => (await fetch(`${baseUrl}/readyz`).catch(() => undefined))?.status === 503;

export function expectAlive(cluster: NatterCluster): void {
  for (const i of cluster.instances) expect(i.child.exitCode, 'an instance crashed').toBeNull();
}
