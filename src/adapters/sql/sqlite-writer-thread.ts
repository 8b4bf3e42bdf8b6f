/**
 * The main thread's side of the SQLite writer thread (sqlite-writer.ts): `write` sends a batch and resolves with
 * its outcomes once the worker has committed it, or rejects with the driver error (its code kept, so the message
 * store classifies it as for an in-thread transaction). A worker that dies fails its batch; the next `write`
 * starts a new one. The worker holds the process open only while a batch is in flight (or it is closing).
 * Beside it runs the checkpointer thread (sqlite-checkpointer.ts), which never holds the process open; if it stops,
 * it is reported once and not replaced (the writer's own checkpoints keep the WAL bounded).
 */
import { Worker } from 'node:worker_threads';
import type { AppendInput } from '../../core/ports.js';
import type { Outcome } from './append-batch.js';
import type { CheckpointerData } from './sqlite-checkpointer.js';
import { fromWireFailure, fromWireOutcome, type WriterReply, type WriterRequest } from './sqlite-writer-protocol.js';

/**
 * From dist/ the worker is plain JavaScript. From src/ (tsx, vitest) it is TypeScript: a worker does not inherit
 * the parent's loader, so a one-line bootstrap registers tsx's (a devDependency) and then imports it.
 */
const fromSource = import.meta.url.endsWith('.ts');
const spawnWorker = (entry: 'sqlite-writer' | 'sqlite-checkpointer', workerData: object): Worker =>
  fromSource
    ? new Worker(`import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(new URL(`./${entry}.ts`, import.meta.url).href)}); });`, { eval: true, workerData })
    : new Worker(new URL(`./${entry}.js`, import.meta.url), { workerData });

/** How often the checkpointer thread copies the WAL into the database file (when anything was committed). */
export const CHECKPOINT_EVERY_MS = 50;

export interface SqliteWriterThreadOptions {
  /** Checkpoint on a thread of its own (default true); false leaves every checkpoint to the writer's commits. */
  checkpointer?: boolean;
  /** Told once if the checkpointer thread stops (the writer then checkpoints alone, as without one). */
  onCheckpointerStopped?(error: Error): void;
}

/** An error thrown in a worker arrives as a plain copy of it: keep its name, message and driver code. */
function workerError(thrown: unknown, fallback: string): Error {
  if (thrown instanceof Error) return thrown;
  const copy = (typeof thrown === 'object' && thrown !== null ? thrown : {}) as { name?: unknown; message?: unknown; code?: unknown };
  return fromWireFailure({
    name: typeof copy.name === 'string' ? copy.name : 'Error',
    message: typeof copy.message === 'string' ? copy.message : fallback,
    ...(typeof copy.code === 'string' && { code: copy.code }),
  });
}

interface Pending {
  inputs: AppendInput[];
  resolve(outcomes: Outcome[]): void;
  reject(error: unknown): void;
}

/** One worker and the batches it was given. */
interface Writer {
  worker: Worker;
  pending: Map<number, Pending>;
  exited: Promise<void>;
}

export class SqliteWriterThread {
  readonly #filename: string;
  /** Commits so far, shared with the checkpointer thread (sqlite-checkpointer.ts). */
  readonly #commits = new Int32Array(new SharedArrayBuffer(4));
  #writer: Writer | undefined;
  #checkpointer: { worker: Worker; exited: Promise<void>; closing: boolean } | undefined;
  #nextId = 0;

  /** Starts the workers at once, so that the first append does not wait for them to load. */
  constructor(filename: string, options: SqliteWriterThreadOptions = {}) {
    this.#filename = filename;
    this.#writer = this.#spawn();
    if (options.checkpointer !== false) this.#checkpointer = this.#spawnCheckpointer(options.onCheckpointerStopped);
  }

  write(inputs: AppendInput[]): Promise<Outcome[]> {
    const { worker, pending } = (this.#writer ??= this.#spawn());
    const id = ++this.#nextId;
    return new Promise<Outcome[]>((resolve, reject) => {
      pending.set(id, { inputs, resolve, reject });
      worker.ref();
      worker.postMessage({ kind: 'append', id, inputs } satisfies WriterRequest);
    });
  }

  /** Closes the worker's connection and waits for the thread to end. */
  async close(): Promise<void> {
    // The checkpointer first: the writer's connection, closing last, checkpoints what is left and removes the WAL.
    const checkpointer = this.#checkpointer;
    this.#checkpointer = undefined;
    if (checkpointer) {
      checkpointer.closing = true;
      checkpointer.worker.ref(); // waiting for an unref'd worker's exit must keep the process alive
      checkpointer.worker.postMessage({ kind: 'close' });
      await checkpointer.exited;
    }
    const writer = this.#writer;
    if (!writer) return;
    this.#writer = undefined;
    writer.worker.ref(); // an idle worker is unref'd; waiting for its exit must keep the process alive
    writer.worker.postMessage({ kind: 'close' } satisfies WriterRequest);
    await writer.exited;
  }

  #spawnCheckpointer(onStopped: ((error: Error) => void) | undefined) {
    const worker = spawnWorker('sqlite-checkpointer', { filename: this.#filename, commits: this.#commits, everyMs: CHECKPOINT_EVERY_MS } satisfies CheckpointerData);
    const checkpointer = { worker, exited: new Promise<void>((resolve) => worker.once('exit', () => resolve())), closing: false };
    let failure: Error | undefined;
    worker.on('error', (thrown: unknown) => (failure = workerError(thrown, 'the SQLite checkpointer thread failed')));
    worker.once('exit', (code) => {
      if (this.#checkpointer === checkpointer) this.#checkpointer = undefined;
      if (!checkpointer.closing) onStopped?.(failure ?? new Error(`the SQLite checkpointer thread exited (code ${code})`));
    });
    worker.unref(); // never holds the process open; close() waits for it
    return checkpointer;
  }

  #spawn(): Writer {
    const worker = spawnWorker('sqlite-writer', { filename: this.#filename, commits: this.#commits });
    const pending = new Map<number, Pending>();
    const writer: Writer = { worker, pending, exited: new Promise((resolve) => worker.once('exit', () => resolve())) };
    worker.on('message', (reply: WriterReply) => {
      const batch = pending.get(reply.id);
      if (!batch) return;
      pending.delete(reply.id);
      if (pending.size === 0) worker.unref();
      if ('failure' in reply) batch.reject(fromWireFailure(reply.failure));
      else batch.resolve(reply.outcomes.map((wire, i) => fromWireOutcome(wire, batch.inputs[i]!)));
    });
    // Failing to open the file, or a crash: every batch in flight on this worker fails, so nothing of it is acked
    // (if its commit happened before the crash, a retry with the same client_msg_id answers the stored message);
    // the next write starts a fresh worker.
    const fail = (error: Error) => {
      if (this.#writer === writer) this.#writer = undefined;
      for (const batch of pending.values()) batch.reject(error);
      pending.clear();
    };
    worker.on('error', (thrown: unknown) => fail(workerError(thrown, 'the SQLite writer thread failed')));
    worker.on('exit', (code) => fail(new Error(`the SQLite writer thread exited (code ${code})`)));
    worker.unref();
    return writer;
  }
}
