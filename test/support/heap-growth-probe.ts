/**
 * Child process for test/unit/heap-growth.test.ts: applies HEAP_GROWTH's factor (argv[2]), then allocates a fixed
 * pattern — a live set, and batches of objects that survive long enough to be promoted, then die — and prints how
 * many full (mark-compact) GCs that took.
 */
import { PerformanceObserver, constants } from 'node:perf_hooks';
import { applyHeapGrowth } from '../../src/heap-growth.js';

applyHeapGrowth(Number(process.argv[2]));
let fullGcs = 0;
const observer = new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) if ((entry.detail as { kind?: number } | undefined)?.kind === constants.NODE_PERFORMANCE_GC_MAJOR) fullGcs++;
}, 50);
observer.observe({ entryTypes: ['gc'] });

const live = Array.from({ length: 200_000 }, (_, i) => ({ i, name: `user-${i}` }));
let batch: Array<{ x: number; y: number[] }> = [];
for (let i = 0; i < 12_000_000; i++) {
  batch.push({ x: i, y: [i, i] });
  if (batch.length === 200_000) batch = [];
}
setTimeout(() => {
  observer.disconnect();
  process.stdout.write(`${JSON.stringify({ fullGcs, live: live.length })}\n`);
}, 50);
