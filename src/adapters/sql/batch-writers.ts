/**
 * Where a group-committed batch of appends runs, per dialect (see sql-message-store.ts):
 * - a SQLite file: on the writer thread (sqlite-writer-thread.ts), so the commit never blocks the event loop, and
 *   the WAL copied into the database file by a checkpointer thread, so a commit seldom has to;
 * - in-memory SQLite: on this thread's connection (a :memory: database cannot be shared with a thread);
 * - PostgreSQL: one round trip, `select * from natter_append(…)` (migration 0003) in autocommit, the batch passed
 *   as typed arrays — constant SQL text whatever the batch size, far from any parameter limit.
 * Each batch is timed as natter_db_query_seconds{kind="transaction"}.
 */
import { sql, type Selectable } from 'kysely';
import { ChatError } from '../../core/errors.js';
import type { Metrics } from '../../core/metrics.js';
import type { AppendInput } from '../../core/ports.js';
import { toMessage, writeBatch, type Outcome } from './append-batch.js';
import type { MessagesTable } from './schema.js';
import { sqliteStatements } from './sql-append-statements.js';
import { timedTransaction, type SqlDatabase, type SqlStoreLog } from './sql-connection.js';
import { loggableError } from './sql-errors.js';
import { SqliteWriterThread } from './sqlite-writer-thread.js';

/** Runs one batch in its own transaction and commits it; answers one outcome per input, in order. */
export interface BatchWriter {
  write(inputs: AppendInput[]): Promise<Outcome[]>;
  close(): Promise<void>;
}

export interface BatchWriterOptions {
  /** A SQLite file: commit on the writer thread (default true). */
  writerThread?: boolean;
  /** A SQLite file on the writer thread: checkpoint the WAL on a thread of its own (default true). */
  checkpointerThread?: boolean;
  metrics?: Metrics;
}

export function batchWriter(database: SqlDatabase, options: BatchWriterOptions, log: SqlStoreLog): BatchWriter {
  const { native } = database;
  if (native.dialect === 'sqlite' && !native.db.memory && options.writerThread !== false) {
    const thread = new SqliteWriterThread(native.db.name, {
      checkpointer: options.checkpointerThread !== false,
      onCheckpointerStopped: (error) => log.warn({ err: loggableError(error) }, 'The SQLite checkpointer thread stopped; commits checkpoint the WAL themselves'),
    });
    // The writer thread, which commits nearly everything, checkpoints the WAL; the main connection never does, so
    // a room creation or a join never pays for a checkpoint on the event loop.
    native.db.pragma('wal_autocheckpoint = 0');
    return { write: timedTransaction(options.metrics, (inputs) => thread.write(inputs)), close: () => thread.close() };
  }
  if (native.dialect === 'sqlite') {
    // writeTransaction is timed already (sql-connection.ts).
    const statements = sqliteStatements(native.db);
    return { write: (inputs) => database.writeTransaction(async () => writeBatch(statements, inputs)), close: async () => undefined };
  }
  return { write: timedTransaction(options.metrics, (inputs) => postgresAppend(database, inputs)), close: async () => undefined };
}

type AppendRow = Selectable<MessagesTable> & { ord: number; missing: boolean; duplicate: boolean };

async function postgresAppend(database: SqlDatabase, inputs: AppendInput[]): Promise<Outcome[]> {
  const column = <T>(pick: (input: AppendInput) => T) => inputs.map(pick);
  const { rows } = await sql<AppendRow>`
    select * from natter_append(
      ${column((i) => i.roomId)}::text[], ${column((i) => i.senderId)}::text[], ${column((i) => i.senderName)}::text[],
      ${column((i) => i.type)}::text[], ${column((i) => i.body)}::text[], ${column((i) => i.clientMsgId)}::text[],
      ${column((i) => i.id)}::text[], ${column((i) => i.createdAt)}::bigint[]
    )`.execute(database.db);
  return rows.map((row) =>
    row.missing ? { error: new ChatError('ROOM_NOT_FOUND', 'No such room.') } : { result: { message: toMessage(row), duplicate: row.duplicate } },
  );
}
