/**
 * Messages in SQL, appended with group commit.
 *
 * `append` only queues. One flush runs at a time and commits everything queued (up to `maxBatch` rows) in ONE
 * transaction, then settles each caller; the next flush starts after it, one event-loop turn later so that every
 * append which arrived meanwhile joins it. Inside the transaction, in this order:
 *   1. lock the batch's rooms (PostgreSQL: SELECT … FOR UPDATE ordered by id — no deadlock between processes;
 *      SQLite: BEGIN IMMEDIATE already holds the single write lock) and read their last_seq;
 *   2. look up the (room, sender, clientMsgId) already stored, in one query — after the lock, so a retry racing
 *      through another natter process is seen; retries inside the batch resolve to the batch's first message;
 *   3. assign seqs last_seq+1… per room, insert the rows, then set the rooms' last_seq (PostgreSQL: one
 *      multi-row INSERT and one UPDATE; SQLite: prepared statements per row — see sql-append-statements.ts).
 * A caller whose room does not exist gets ROOM_NOT_FOUND alone. A database failure rejects the whole batch with
 * UNAVAILABLE (temporary) after rollback: nothing is acked that was not committed. A row the database refuses
 * (integrity or data error) is retried alone so it cannot fail its batch-mates.
 */
import type { Kysely, Selectable } from 'kysely';
import { ChatError } from '../../core/errors.js';
import type { AppendInput, AppendResult } from '../../core/ports.js';
import { asMessageId, asRoomId, asUserId, type Message, type RoomId } from '../../core/types.js';
import { checkAppendInput, idempotencyKey, readLimit, seqBound, storeClosed } from '../shared/store-rules.js';
import type { Database, MessagesTable } from './schema.js';
import { appendStatements, type AppendStatements } from './sql-append-statements.js';
import type { SqlDatabase, SqlStoreLog } from './sql-connection.js';
import { guard, isRowError, loggableError, toStoreError } from './sql-errors.js';

export interface SqlMessageStoreOptions {
  /** Most appends committed by one transaction. Default 500. */
  maxBatch?: number;
}

interface PendingAppend {
  input: AppendInput;
  resolve(result: AppendResult): void;
  reject(error: unknown): void;
}

type Outcome = { result: AppendResult } | { error: ChatError };

const HEADS_CHUNK = 1_000; // room ids per query, far below any dialect's parameter limit

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

export class SqlMessageStore {
  readonly #database: SqlDatabase;
  readonly #log: SqlStoreLog;
  readonly #maxBatch: number;
  readonly #statements: AppendStatements;
  #queue: PendingAppend[] = [];
  /** The flush loop, while it runs. */
  #flushing: Promise<void> | undefined;
  #closed = false;

  constructor(database: SqlDatabase, log: SqlStoreLog, options: SqlMessageStoreOptions = {}) {
    this.#database = database;
    this.#log = log;
    this.#maxBatch = Math.max(1, options.maxBatch ?? 500);
    this.#statements = appendStatements(database);
  }

  append(input: AppendInput): Promise<AppendResult> {
    if (this.#closed) return Promise.reject(storeClosed());
    const invalid = checkAppendInput(input);
    if (invalid) return Promise.reject(invalid);
    return new Promise<AppendResult>((resolve, reject) => {
      this.#queue.push({ input, resolve, reject });
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

  heads(roomIds: RoomId[]): Promise<Map<RoomId, number>> {
    return guard(async () => {
      const heads = new Map<RoomId, number>();
      const unique = [...new Set(roomIds)];
      for (let i = 0; i < unique.length; i += HEADS_CHUNK) {
        const rows = await this.#database.db
          .selectFrom('rooms')
          .select(['id', 'last_seq'])
          .where('id', 'in', unique.slice(i, i + HEADS_CHUNK))
          .execute();
        for (const row of rows) heads.set(asRoomId(row.id), row.last_seq);
      }
      return heads;
    });
  }

  /** Refuses new appends and resolves once every queued one is settled. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#flushing;
  }

  async #flushLoop(): Promise<void> {
    try {
      while (this.#queue.length > 0) {
        await nextTurn();
        await this.#flush(this.#queue.splice(0, this.#maxBatch));
      }
    } finally {
      this.#flushing = undefined;
    }
  }

  /** Commits one batch and settles its callers. Never rejects. */
  async #flush(batch: PendingAppend[]): Promise<void> {
    let outcomes: Outcome[];
    try {
      const inputs = batch.map((pending) => pending.input);
      outcomes = await this.#database.writeTransaction((trx) => this.#write(trx, inputs));
    } catch (error) {
      if (batch.length > 1 && isRowError(error)) {
        this.#log.warn({ err: loggableError(error), batchSize: batch.length }, 'The database refused a batch; appending one by one');
        for (const pending of batch) await this.#flush([pending]);
        return;
      }
      this.#log.error({ err: loggableError(error), batchSize: batch.length }, 'Message append failed; nothing was committed');
      const failure = toStoreError(error);
      for (const pending of batch) pending.reject(failure);
      return;
    }
    batch.forEach((pending, i) => {
      const outcome = outcomes[i];
      if (!outcome) pending.reject(new ChatError('INTERNAL', 'The append produced no outcome.'));
      else if ('error' in outcome) pending.reject(outcome.error);
      else pending.resolve({ message: { ...outcome.result.message }, duplicate: outcome.result.duplicate });
    });
  }

  /** The batch's work inside its transaction; answers one outcome per input, in order. */
  async #write(trx: Kysely<Database>, inputs: AppendInput[]): Promise<Outcome[]> {
    const locked = await this.#statements.lockRooms(trx, [...new Set(inputs.map((input) => input.roomId))]);
    const lastSeq = new Map(locked.map((room) => [room.id, room.last_seq]));
    const keyed = inputs.flatMap(({ roomId, senderId, clientMsgId }) =>
      clientMsgId !== null && lastSeq.has(roomId) ? [{ roomId, senderId, clientMsgId }] : [],
    );
    const stored = new Map<string, Message>();
    if (keyed.length > 0) {
      for (const row of await this.#statements.findStored(trx, keyed)) {
        stored.set(idempotencyKey(row.room_id, row.sender_id, row.client_msg_id ?? ''), toMessage(row));
      }
    }
    const fresh: Message[] = [];
    const outcomes = inputs.map((input): Outcome => {
      const last = lastSeq.get(input.roomId);
      if (last === undefined) return { error: new ChatError('ROOM_NOT_FOUND', 'No such room.') };
      const key = input.clientMsgId === null ? undefined : idempotencyKey(input.roomId, input.senderId, input.clientMsgId);
      const first = key === undefined ? undefined : stored.get(key);
      if (first) return { result: { message: first, duplicate: true } };
      const message = newMessage(input, last + 1);
      lastSeq.set(input.roomId, message.seq);
      if (key !== undefined) stored.set(key, message);
      fresh.push(message);
      return { result: { message, duplicate: false } };
    });
    if (fresh.length > 0) {
      await this.#statements.insertMessages(trx, fresh);
      const advanced = new Map(fresh.map((message) => [message.roomId as string, message.seq]));
      await this.#statements.setLastSeqs(trx, [...advanced]);
    }
    return outcomes;
  }
}

function newMessage(input: AppendInput, seq: number): Message {
  const { id, roomId, senderId, senderName, type, body, clientMsgId, createdAt } = input;
  return { id, roomId, seq, senderId, senderName, type, body, clientMsgId, createdAt };
}

function toMessage(row: Selectable<MessagesTable>): Message {
  return {
    id: asMessageId(row.id),
    roomId: asRoomId(row.room_id),
    seq: row.seq,
    senderId: asUserId(row.sender_id),
    senderName: row.sender_name,
    type: row.type,
    body: row.body,
    clientMsgId: row.client_msg_id,
    createdAt: row.created_at,
  };
}
