/**
 * Messages in SQL, appended with group commit.
 *
 * `append` only queues. One batch is written at a time and commits everything queued (up to `maxBatch` rows) in
 * ONE transaction (append-batch.ts: lock rooms, find retries, assign seqs, insert), then settles each caller; the
 * next batch (everything that arrived meanwhile) is sent as soon as that commit is reported (see #flushLoop).
 * Where the batch runs (batch-writers.ts): a SQLite file on the writer thread, so the commit's fsync never
 * stalls the event loop; in-memory SQLite on this thread; PostgreSQL in one round trip (natter_append).
 * A database failure rejects the whole batch with UNAVAILABLE (temporary) after rollback: nothing is acked that
 * was not committed. A row the database refuses (integrity or data error) is retried alone so it cannot fail
 * its batch-mates.
 */
import { ChatError } from '../../core/errors.js';
import type { AppendInput, AppendResult, RoomHead } from '../../core/ports.js';
import { asRoomId, type Message, type RoomId } from '../../core/types.js';
import { checkAppendInput, readLimit, seqBound, storeClosed } from '../shared/store-rules.js';
import { toMessage, type Outcome } from './append-batch.js';
import { batchWriter, type BatchWriter, type BatchWriterOptions } from './batch-writers.js';
import type { SqlDatabase, SqlStoreLog } from './sql-connection.js';
import { guard, isRowError, loggableError, toStoreError } from './sql-errors.js';

export interface SqlMessageStoreOptions extends BatchWriterOptions {
  /** Most appends committed by one transaction. Default 500. */
  maxBatch?: number;
  /**
   * Least time (ms) from one batch's hand-off to the next one's, unless `maxBatch` appends are waiting: at a
   * steady, sparse rate the appends that arrive meanwhile share one commit instead of several small ones. 0 (the
   * default here) sends the next batch as soon as the last one committed.
   */
  commitIntervalMs?: number;
}

interface PendingAppend {
  input: AppendInput;
  resolve(result: AppendResult): void;
  reject(error: unknown): void;
}

const HEADS_CHUNK = 1_000; // room ids per query, far below any dialect's parameter limit

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

export class SqlMessageStore {
  readonly #database: SqlDatabase;
  readonly #log: SqlStoreLog;
  readonly #maxBatch: number;
  readonly #writer: BatchWriter;
  readonly #commitIntervalMs: number;
  #queue: PendingAppend[] = [];
  /** When the last batch was handed to the writer (performance.now()). */
  #lastSent = -Infinity;
  /** Ends the flush loop's wait for the commit interval, while it waits. */
  #wake: (() => void) | undefined;
  /** The flush loop, while it runs. */
  #flushing: Promise<void> | undefined;
  #closed = false;

  constructor(database: SqlDatabase, log: SqlStoreLog, options: SqlMessageStoreOptions = {}) {
    this.#database = database;
    this.#log = log;
    this.#maxBatch = Math.max(1, options.maxBatch ?? 500);
    this.#commitIntervalMs = Math.max(0, options.commitIntervalMs ?? 0);
    this.#writer = batchWriter(database, options, log);
  }

  append(input: AppendInput): Promise<AppendResult> {
    if (this.#closed) return Promise.reject(storeClosed());
    const invalid = checkAppendInput(input);
    if (invalid) return Promise.reject(invalid);
    return new Promise<AppendResult>((resolve, reject) => {
      this.#queue.push({ input, resolve, reject });
      if (this.#queue.length >= this.#maxBatch) this.#wake?.(); // a full batch does not wait out the interval
      this.#flushing ??= this.#flushLoop();
    });
  }

  readAfter(roomId: RoomId, after: number, limit: number): Promise<Message[]> {
    return this.#page(roomId, '>', seqBound(after, Math.floor), limit);
  }

  readBefore(roomId: RoomId, before: number, limit: number): Promise<Message[]> {
    return this.#page(roomId, '<', seqBound(before, Math.ceil), limit);
  }

  /** Keyset page on (room_id, seq): the `limit` seqs nearest `bound` on the `op` side, returned ascending. */
  #page(roomId: RoomId, op: '>' | '<', bound: number, limit: number): Promise<Message[]> {
    return guard(async () => {
      const count = readLimit(limit);
      if (count === 0) return [];
      const rows = await this.#database.db
        .selectFrom('messages')
        .selectAll()
        .where('room_id', '=', roomId)
        .where('seq', op, bound)
        .orderBy('seq', op === '>' ? 'asc' : 'desc')
        .limit(count)
        .execute();
      return (op === '>' ? rows : rows.reverse()).map(toMessage);
    });
  }

  head(roomId: RoomId): Promise<number> {
    return guard(async () => {
      const row = await this.#database.db
        .selectFrom('rooms')
        .select('last_seq')
        .where('id', '=', roomId)
        .executeTakeFirst();
      return row?.last_seq ?? 0;
    });
  }

  heads(roomIds: RoomId[]): Promise<Map<RoomId, RoomHead>> {
    return guard(async () => {
      const heads = new Map<RoomId, RoomHead>();
      const unique = [...new Set(roomIds)];
      for (let i = 0; i < unique.length; i += HEADS_CHUNK) {
        const rows = await this.#database.db
          .selectFrom('rooms')
          .select(['id', 'last_seq', 'access_rev'])
          .where('id', 'in', unique.slice(i, i + HEADS_CHUNK))
          .execute();
        for (const row of rows) heads.set(asRoomId(row.id), { seq: row.last_seq, accessRev: row.access_rev });
      }
      return heads;
    });
  }

  /** Refuses new appends and resolves once every queued one is settled. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#flushing;
    await this.#writer.close();
  }

  /**
   * Batches go to the writer one at a time, in queue order. The first waits one event-loop turn so that every
   * append of that turn joins it; each next one is sent as soon as the one before it committed (everything queued
   * meanwhile) and before that one's callers are settled, so the next commit's I/O overlaps their acks and fan-out.
   * With a commit interval, a batch whose turn comes sooner than that after the last hand-off waits out the rest
   * (the committed batch's callers are settled first), unless `maxBatch` appends are already queued.
   * After a failed batch the next waits until the failure is handled (its rows retried alone, in order).
   */
  async #flushLoop(): Promise<void> {
    try {
      await nextTurn();
      await this.#spacing();
      let batch = this.#take();
      let written = this.#write(batch);
      while (batch.length > 0) {
        const outcome = await written;
        if ('error' in outcome) await this.#failed(batch, outcome.error);
        const spacing = this.#spacing();
        if (spacing) {
          if ('outcomes' in outcome) this.#settle(batch, outcome.outcomes);
          await spacing;
        }
        const next = this.#take();
        if (next.length > 0) written = this.#write(next);
        if (!spacing && 'outcomes' in outcome) this.#settle(batch, outcome.outcomes);
        batch = next;
      }
    } finally {
      this.#flushing = undefined;
    }
  }

  /**
   * The rest of the commit interval since the last hand-off, when appends are queued but fewer than a full batch;
   * it ends early if the queue fills up meanwhile (see `append`). Else undefined: the next batch goes now.
   */
  #spacing(): Promise<void> | undefined {
    const wait = this.#lastSent + this.#commitIntervalMs - performance.now();
    if (wait <= 0 || this.#queue.length === 0 || this.#queue.length >= this.#maxBatch) return undefined;
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, wait);
      this.#wake = done;
    });
  }

  #take(): PendingAppend[] {
    const batch = this.#queue.splice(0, this.#maxBatch);
    if (batch.length > 0) this.#lastSent = performance.now();
    return batch;
  }

  #write(batch: PendingAppend[]): Promise<{ outcomes: Outcome[] } | { error: unknown }> {
    return this.#writer.write(batch.map((pending) => pending.input)).then(
      (outcomes) => ({ outcomes }),
      (error: unknown) => ({ error }),
    );
  }

  /** Commits one batch and settles its callers. Never rejects. */
  async #flush(batch: PendingAppend[]): Promise<void> {
    const outcome = await this.#write(batch);
    if ('outcomes' in outcome) this.#settle(batch, outcome.outcomes);
    else await this.#failed(batch, outcome.error);
  }

  /** A batch the database refused: a row error is retried row by row so it cannot fail its batch-mates. */
  async #failed(batch: PendingAppend[], error: unknown): Promise<void> {
    if (batch.length > 1 && isRowError(error)) {
      this.#log.warn({ err: loggableError(error), batchSize: batch.length }, 'The database refused a batch; appending one by one');
      for (const pending of batch) await this.#flush([pending]);
      return;
    }
    this.#log.error({ err: loggableError(error), batchSize: batch.length }, 'Message append failed; nothing was committed');
    const failure = toStoreError(error);
    for (const pending of batch) pending.reject(failure);
  }

  #settle(batch: PendingAppend[], outcomes: Outcome[]): void {
    batch.forEach((pending, i) => {
      const outcome = outcomes[i];
      if (!outcome) pending.reject(new ChatError('INTERNAL', 'The append produced no outcome.'));
      else if ('error' in outcome) pending.reject(outcome.error);
      else pending.resolve(outcome.result); // its own result; retries within one batch share their first's message (never mutated)
    });
  }
}
