/**
 * Keeps the bench tool alive in CI (issue 7): a few seconds of W3 with tiny rooms on the raw floor (both batching
 * policies, and the one that commits each message), natter, and Socket.IO when Redis is reachable. Asserts delivery counts and the report files only —
 * never times: this machine is shared and timings here mean nothing.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createClient } from 'redis';
import { afterAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const out = mkdtempSync(join(tmpdir(), 'natter-bench-smoke-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

async function redisUp(): Promise<boolean> {
  const r = createClient({ url: process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379', socket: { connectTimeout: 1000, reconnectStrategy: false } });
  r.on('error', () => undefined);
  try {
    await r.connect();
    await r.close();
    return true;
  } catch {
    return false;
  }
}

describe('bench smoke', () => {
  it('prints its help', async () => {
    const { stdout } = await run(process.execPath, ['--import', 'tsx', 'bench/main.ts', '--help']);
    expect(stdout).toContain('--workload');
    for (const w of ['W0', 'W1', 'W2', 'W3', 'W4', 'W5', 'W6', 'W7']) expect(stdout).toContain(w);
   }, 60_000);

  it('runs W3 side by side and every delivery arrives exactly once', async () => {
    const targets = ['floor', 'floor-coalesced', 'floor-persist', 'natter', ...((await redisUp()) ? ['socketio'] : [])];
    const args = ['--workload', 'W3', '--targets', targets.join(','), '--rooms', '2', '--members', '5', '--seconds', '1', '--warmup', '0', '--runs', '1', '--fractions', '0.5', '--loaders', '1', '--out', out, '--quiet', '--no-pin'];
    const { stdout } = await run(process.execPath, ['--import', 'tsx', 'bench/main.ts', ...args], { timeout: 150_000 }).catch((err: { stdout?: string; stderr?: string }) => {
      throw new Error(`bench failed:\n${err.stdout ?? ''}\n${err.stderr ?? ''}`);
    });
    const files = JSON.parse(stdout.trim().split('\n').at(-1)!) as { json: string; html: string; delivery_ok: boolean; errors: string[] };
    expect(files.errors).toEqual([]);
    const result = JSON.parse(readFileSync(files.json, 'utf8')) as {
      runs: Array<{ target: string; phases: Array<{ phase: string; started: string; sent: number; expected: number; received: number; lost: number; duplicated: number; reordered: number; ack_timeline?: Array<[number, number]>; disk?: { stalls: number; at: unknown[] }; server_syscalls_per_delivery: number; server_bytes_written_per_delivery: number; steal_ms: number }> }>;
    };
    expect(result.runs.map((r) => r.target).sort()).toEqual([...targets].sort());
    for (const r of result.runs) {
      expect(r.phases.map((p) => p.phase)).toEqual(['closed loop, 8 in flight per sender', 'open loop 50%']);
      for (const p of r.phases) {
        expect(p.sent, `${r.target} ${p.phase}`).toBeGreaterThan(0);
        expect(p.expected, `${r.target} ${p.phase}`).toBe(p.sent * 5);
        expect({ target: r.target, phase: p.phase, received: p.received, lost: p.lost, duplicated: p.duplicated, reordered: p.reordered }).toEqual({ target: r.target, phase: p.phase, received: p.expected, lost: 0, duplicated: 0, reordered: 0 });
        expect(Number.isNaN(Date.parse(p.started)), `${r.target} ${p.phase} started`).toBe(false);
        // The disk probe ran beside every phase (how many flushes stalled is the machine's business).
        expect(p.disk?.at, `${r.target} ${p.phase} disk`).toHaveLength(p.disk?.stalls ?? -1);
        // The server read and wrote sockets, so /proc/PID/io counted syscalls and bytes for the phase.
        expect(p.server_syscalls_per_delivery, `${r.target} ${p.phase} syscalls`).toBeGreaterThan(0);
        expect(p.server_bytes_written_per_delivery, `${r.target} ${p.phase} bytes`).toBeGreaterThan(0);
        expect(p.steal_ms, `${r.target} ${p.phase} steal`).toBeGreaterThanOrEqual(0);
        // Only natter acks: its phases place their slowest acks in time, half a second per entry, in order.
        if (r.target === 'natter') {
          expect(p.ack_timeline?.length, `${r.target} ${p.phase} ack_timeline`).toBeGreaterThan(0);
          expect(p.ack_timeline!.map(([t]) => t)).toEqual(p.ack_timeline!.map((_, i) => i / 2));
        } else expect(p.ack_timeline).toBeUndefined();
      }
    }
    expect(files.delivery_ok).toBe(true);
    const html = readFileSync(files.html, 'utf8');
    expect(html).toContain('<svg');
    expect(html).toContain('<th>syscalls/delivery</th>');
    expect(html).not.toMatch(/<script|https?:\/\/(?!www\.w3\.org)/);
  }, 160_000);
});
