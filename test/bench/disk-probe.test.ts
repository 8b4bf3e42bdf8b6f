/**
 * The bench's disk probe (bench/disk-probe.ts): with a threshold of 0 every flush is reported, so the window
 * arithmetic and the clean stop can be checked on any disk (no timing is asserted: which flushes stall is the
 * machine's business).
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DiskProbe } from '../../bench/disk-probe.js';

const dir = mkdtempSync(join(tmpdir(), 'natter-disk-probe-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('disk probe', () => {
  it('reports the flushes of a window, each placed in it, and removes its file when stopped', async () => {
    const probe = new DiskProbe(dir, 0);
    const from = Date.now();
    await expect.poll(() => probe.between(from, Date.now()).stalls, { timeout: 10_000, interval: 20 }).toBeGreaterThanOrEqual(3);
    const to = Date.now();
    const seen = probe.between(from, to);
    expect(seen.at).toHaveLength(seen.stalls);
    for (const [s, ms] of seen.at) {
      expect(s).toBeGreaterThanOrEqual(0);
      expect(s).toBeLessThanOrEqual((to - from) / 1000 + 0.1);
      expect(ms).toBeGreaterThanOrEqual(0);
    }
    expect(seen.max_ms).toBe(Math.max(...seen.at.map(([, ms]) => ms)));
    expect(probe.between(to + 60_000, to + 120_000)).toEqual({ stalls: 0, max_ms: 0, total_ms: 0, at: [] });
    expect(existsSync(probe.file)).toBe(true);
    await probe.stop();
    expect(existsSync(probe.file)).toBe(false);
  }, 20_000);
});
