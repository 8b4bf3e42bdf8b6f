/** D1: a message is acked only once committed — kill -9 right after the acks, restart, and it is all there. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startNatterProcess, type NatterProcess } from '../support/process.js';
import { PASSWORD } from '../support/server.js';
import { range, seqs, TestClient } from '../support/ws-client.js';

const dataDir = mkdtempSync(join(tmpdir(), 'natter-restart-'));
const running: NatterProcess[] = [];
afterAll(() => {
  for (const p of running) p.child.kill('SIGKILL');
  rmSync(dataDir, { recursive: true, force: true });
});

async function json(url: string, init: RequestInit = {}, token?: string): Promise<any> {
  const res = await fetch(url, {
    ...init,
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
  });
  return res.json();
}

describe('restart', () => {
  it('keeps every acked message, the token secret and the seq counter across kill -9 and restart', async () => {
    // No JWT_SECRET and no DATABASE_URL: the embedded defaults a newcomer gets.
    const first = await startNatterProcess({ DATA_DIR: dataDir });
    running.push(first);
    const reg = await json(`${first.baseUrl}/api/auth/register`, { method: 'POST', body: JSON.stringify({ username: 'restarter', password: PASSWORD }) });
    const room = (await json(`${first.baseUrl}/api/rooms`, { method: 'POST', body: JSON.stringify({ name: 'durable' }) }, reg.access_token)).id;
    const client = await TestClient.connect(first.wsUrl, reg.access_token);
    await client.call('room.join', { room });
    const acks = await Promise.all(range(1, 200).map((i) => client.call('message.send', { room, body: `m${i}`, client_msg_id: `k${i}` })));
    first.child.kill('SIGKILL');
    expect((await first.exited).signal).toBe('SIGKILL');
    await client.closed;

    const second = await startNatterProcess({ DATA_DIR: dataDir });
    running.push(second);
    // The access token issued before the restart still verifies: the generated secret was kept in DATA_DIR.
    const history = await json(`${second.baseUrl}/api/rooms/${room}/messages?limit=200`, {}, reg.access_token);
    const stored = new Map(history.messages.map((m: any) => [m.id, m]));
    for (const ack of acks) expect(stored.get(ack.id), `acked ${ack.seq}`).toMatchObject({ seq: ack.seq });
    expect(history.messages.map((m: any) => m.seq)).toEqual(range(2, 201));

    const again = await TestClient.connect(second.wsUrl, reg.access_token);
    await again.call('room.join', { room, since: 195 });
    const retry = await again.call('message.send', { room, body: 'm200', client_msg_id: 'k200' });
    expect(retry).toMatchObject({ duplicate: true, seq: acks[199].seq });
    const next = await again.call('message.send', { room, body: 'after restart', client_msg_id: 'k201' });
    expect(next.seq).toBe(202);
    await again.waitForSeq(room, 202);
    expect(seqs(again, room)).toEqual(range(196, 202));
    await again.close();
    second.child.kill('SIGTERM');
    expect((await second.exited).code).toBe(0);
  });
});
