/**
 * Child process for test/unit/heap-growth.test.ts (run with --trace-gc, which prints every GC as it happens):
 * applies HEAP_GROWTH's factor (argv[2]), then allocates a fixed pattern — a live set, and batches of objects
 * that survive long enough to be promoted, then die.
 */
import { applyHeapGrowth } from '../../src/heap-growth.js';

applyHeapGrowth(Number(process.argv[2]));
const live = Array.from({ length: 200_000 }, (_, i) => ({ i, name: `user-${i}` }));
let batch: Array<{ x: number; y: number[] }> = [];
for (let i = 0; i < 12_000_000; i++) {
  batch.push({ x: i, y: [i, i] });
  if (batch.length === 200_000) batch = [];
}
process.stdout.write(`done: ${live.length} live\n`);
