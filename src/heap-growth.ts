/**
 * How far V8's old generation may grow past what the last full (mark-compact) GC left alive before the next one.
 * V8 picks a factor of 1.1–4 from its GC and allocation speeds; under a steady message load each full GC stalls
 * the event loop for tens of milliseconds (on few cores its marking threads crowd the loop out), and those
 * stalls decide the ack p99. A fixed larger factor makes them rarer for up to that many times the live heap in
 * memory (docs/operations.md, docs/benchmarks.md). V8 still caps the limit at halfway to the heap's maximum.
 * Process-wide: serve() applies it for the running server; createNatter (embedded in tests) does not.
 */
import { setFlagsFromString } from 'node:v8';

/** The V8 flag for a factor (an integer ≥ 2); 0 leaves V8's own adaptive factor. */
export function heapGrowthFlag(factor: number): string | null {
  return factor === 0 ? null : `--heap-growing-percent=${(factor - 1) * 100}`;
}

/** V8 reads the factor at every full GC, so setting it once the process runs takes effect from the next one. */
export function applyHeapGrowth(factor: number): void {
  const flag = heapGrowthFlag(factor);
  if (flag !== null) setFlagsFromString(flag);
}
