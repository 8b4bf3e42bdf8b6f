/**
 * The SQLite checkpointer thread (a worker_threads entry): copies the WAL into the database file in the background,
 * on its own connection, so that a commit on the writer thread rarely has to. With checkpoints left to the writer,
 * every ~10,000 WAL frames one commit also copied them all and synced the database file: 6–12 ms instead of ~0.7
 * (docs/benchmarks.md, session 7), and every append queued behind it waited that long.
 *
 * Every CHECKPOINT_EVERY_MS, if the writer committed since the last pass (a counter it bumps in shared memory), one
 * PASSIVE checkpoint: it copies what is in the WAL without blocking the writer or any reader, and gives up on
 * nothing. A passive checkpoint never restarts the WAL; the writer does that at its own next checkpoint
 * (wal_autocheckpoint, see sqlite-open.ts), which then finds nearly everything copied already: the WAL stays
 * bounded even if this thread falls behind or dies.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { openSqlite } from './sqlite-open.js';

export interface CheckpointerData {
  filename: string;
  /** Int32Array over a SharedArrayBuffer: [0] is bumped by the writer after every commit. */
  commits: Int32Array;
  everyMs: number;
}

const port = parentPort;
if (!port) throw new Error('sqlite-checkpointer.ts runs as a worker thread');

const { filename, commits, everyMs } = workerData as CheckpointerData;
const db = openSqlite(filename);
const checkpoint = db.prepare('pragma wal_checkpoint(passive)');
/** -1: the first pass always runs, for what was committed before this thread started (or left by a previous run). */
let seen = -1;

const timer = setInterval(() => {
  const now = Atomics.load(commits, 0);
  if (now === seen) return;
  seen = now;
  checkpoint.get();
}, everyMs);

port.on('message', (request: { kind: 'close' }) => {
  if (request.kind !== 'close') return;
  clearInterval(timer);
  db.close();
  port.close();
});
