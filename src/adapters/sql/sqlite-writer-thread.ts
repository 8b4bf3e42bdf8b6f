/**
 * The main thread's side of the SQLite writer thread (sqlite-writer.ts): `write` sends a batch and resolves with
 * its outcomes once the worker has committed it, or rejects with the driver error (its code kept, so the message
 * store classifies it as for an in-thread transaction). A worker that dies fails its batch; the next `write`
 * starts a new one. The worker holds the process open only while a batch is in flight (or it is closing).
 */
import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import type { AppendInput } from '../../core/ports.js';
import type { Outcome } from './append-batch.js';
import { fromWireFailure, fromWireOutcome, type WriterReply, type WriterRequest } from './sqlite-writer-protocol.js';

/**
 * From dist/ the worker is plain JavaScript. From src/ (tsx, vitest) it is TypeScript: a worker does not inherit
 * the parent's loader, so a two-line bootstrap registers tsx's (a devDependency) and then imports it.
 */
const fromSource = import.meta.url.endsWith('.ts');
const spawnWorker = (workerData: object): Worker =>
  fromSource
    ? new Worker(`import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(new URL('./sqlite-writer.ts', import.meta.url).href)}); });`, { eval: true, workerData })
    : new Worker(new URL('./sqlite-writer.js', import.meta.url), { workerData });

interface Pending {
  resolve(outcomes: Outcome[]): void;
  reject(error: unknown): void;
}

export class SqliteWriterThread {
  readonly #filename: string;
  #worker: Worker | undefined;
  readonly #pending = new Map<number, Pending>();
  #nextId = 0;

  /** Starts the worker at once, so that the first append does not wait for it to load. */
  constructor(filename: string) {
    this.#filename = filename;
    this.#worker = this.#spawn();
  }

  write(inputs: AppendInput[]): Promise<Outcome[]> {
    const worker = (this.#worker ??= this.#spawn());
    const id = ++this.#nextId;
    return new Promise<Outcome[]>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      worker.ref();
      worker.postMessage({ kind: 'append', id, inputs } satisfies WriterRequest);
    });
  }

  /** Closes the worker's connection and waits for the thread to end. */
  async close(): Promise<void> {
    const worker = this.#worker;
    if (!worker) return;
    this.#worker = undefined;
    const exited = once(worker, 'exit');
    worker.ref(); // an idle worker is unref'd; waiting for its exit must keep the process alive
    worker.postMessage({ kind: 'close' } satisfies WriterRequest);
    await exited;
  }

  #spawn(): Worker {
    const worker = spawnWorker({ filename: this.#filename });
    worker.on('message', (reply: WriterReply) => {
      const pending = this.#pending.get(reply.id);
      if (!pending) return;
      this.#pending.delete(reply.id);
      if (this.#pending.size === 0) worker.unref();
      if ('failure' in reply) pending.reject(fromWireFailure(reply.failure));
      else pending.resolve(reply.outcomes.map(fromWireOutcome));
    });
    // Failing to open the file, or a crash: every batch in flight fails (nothing of it was acked); the next
    // write starts a fresh worker.
    const fail = (error: unknown) => {
      if (this.#worker === worker) this.#worker = undefined;
      for (const pending of this.#pending.values()) pending.reject(error);
      this.#pending.clear();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`the SQLite writer thread exited (code ${code})`)));
    worker.unref();
    return worker;
  }
}
