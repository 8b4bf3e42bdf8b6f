/** HEAP_GROWTH reaches V8: the same allocation pattern needs fewer full GCs with natter's default factor than with V8's own. */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { heapGrowthFlag } from '../../src/heap-growth.js';

const run = promisify(execFile);

async function fullGcs(factor: number): Promise<number> {
  const { stdout, stderr } = await run(process.execPath, ['--trace-gc', '--import', 'tsx', 'test/support/heap-growth-probe.ts', String(factor)]);
  expect(stderr).toBe(''); // V8 reports a flag it does not know on stderr
  expect(stdout).toMatch(/done: 200000 live/);
  return stdout.split('\n').filter((line) => line.includes('Mark-Compact')).length;
}

describe('heap growth', () => {
  it('defaults to 8 and refuses 1 and values beyond 32', () => {
    expect(loadConfig({}).heapGrowth).toBe(8);
    expect(() => loadConfig({ HEAP_GROWTH: '1' })).toThrow(/HEAP_GROWTH must be 0 \(V8 decides\) or a factor from 2 to 32/);
    expect(() => loadConfig({ HEAP_GROWTH: '33' })).toThrow(/HEAP_GROWTH must be an integer from 0 to 32/);
  });

  it('maps a factor to V8 flag and 0 to none', () => {
    expect(heapGrowthFlag(8)).toBe('--heap-growing-percent=700');
    expect(heapGrowthFlag(0)).toBeNull();
  });

  it('makes full GCs rarer in a running process', async () => {
    const [v8Own, natters] = await Promise.all([fullGcs(0), fullGcs(8)]);
    expect(v8Own).toBeGreaterThan(0);
    expect(natters).toBeLessThan(v8Own);
  }, 60_000);
});
