/**
 * The disk's own stalls, measured beside every phase: a thread of the coordinator (pinned with it to the loaders'
 * core) writes 4 KiB and fdatasyncs it every 20 ms, in a file on the filesystem natter's data and PostgreSQL's live
 * on, and remembers every flush slower than 10 ms. 50 flushes a second are a few percent of what a persisting
 * target does. This VM's disk stalls a flush for 50–130 ms a few times a minute with nothing else running
 * (docs/benchmarks.md, "The disk's own stalls"): a phase with such a stall cannot ack within 20 ms what arrives
 * during it, whatever the server does, and the phase result says so.
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { round } from './stats.js';

/** The probe's flushes over this are reported (ms). */
const STALL_MS = 10;

// Plain JavaScript, evaluated by the worker (the bench itself runs through tsx, which a worker would not inherit).
const PROBE = `
const { parentPort, workerData } = require('node:worker_threads');
const fs = require('node:fs');
const fd = fs.openSync(workerData.file, 'w');
const page = Buffer.alloc(4096, 1);
const nap = new Int32Array(new SharedArrayBuffer(4));
let i = 0;
let stop = false;
parentPort.on('message', () => { stop = true; });
(function loop() {
  if (stop) { fs.closeSync(fd); fs.rmSync(workerData.file, { force: true }); parentPort.close(); return; }
  const at = performance.timeOrigin + performance.now();
  fs.writeSync(fd, page, 0, page.length, (i++ % 256) * 4096);
  fs.fdatasyncSync(fd);
  const ms = performance.timeOrigin + performance.now() - at;
  if (ms > workerData.stallMs) parentPort.postMessage({ at, ms });
  Atomics.wait(nap, 0, 0, 20);
  setImmediate(loop); // lets the stop message in
})();
`;

export interface DiskStalls {
  /** Probe flushes slower than the threshold (10 ms) that started in the window. */
  stalls: number;
  /** The slowest of them (ms); 0 if none. */
  max_ms: number;
  /** Their summed time (ms): roughly how long the disk held flushes back. */
  total_ms: number;
  /** Each stall as [seconds after `from` when the flush began, ms] — beside the phase's `ack_timeline`. */
  at: Array<[number, number]>;
}

export class DiskProbe {
  readonly #worker: Worker;
  readonly #stalls: Array<{ at: number; ms: number }> = [];

  /** The probe file's path (removed when the probe stops). */
  readonly file: string;

  /** `stallMs`: report flushes slower than this (the test sets 0 to see every flush). */
  constructor(dir = tmpdir(), stallMs = STALL_MS) {
    this.file = join(dir, `.natter-disk-probe-${process.pid}`);
    this.#worker = new Worker(PROBE, { eval: true, workerData: { file: this.file, stallMs } });
    this.#worker.on('message', (stall: { at: number; ms: number }) => this.#stalls.push(stall));
    this.#worker.unref();
  }

  /** The stalls whose flush started between `from` and `to` (epoch ms). */
  between(from: number, to: number): DiskStalls {
    const hit = this.#stalls.filter((s) => s.at >= from && s.at <= to);
    return {
      stalls: hit.length,
      max_ms: round(Math.max(0, ...hit.map((s) => s.ms))),
      total_ms: round(hit.reduce((n, s) => n + s.ms, 0)),
      at: hit.map((s) => [round((s.at - from) / 1000, 1), round(s.ms)]),
    };
  }

  async stop(): Promise<void> {
    const exited = new Promise((resolve) => this.#worker.once('exit', resolve));
    this.#worker.ref(); // unreferenced, it would let the process exit before it has
    this.#worker.postMessage('stop');
    await exited;
  }
}
