/**
 * The four statements of a group-committed append on SQLite (append-batch.ts runs them; PostgreSQL does the same
 * in one call of natter_append, migration 0003). In-process, so there is no round trip to save: prepared-once
 * statements run per row on the batch's connection (twice as fast as one multi-row INSERT that must be prepared
 * anew). They are synchronous, so the writer thread (sqlite-writer.ts) runs a whole batch without yielding.
 */
import type { Selectable } from 'kysely';
import type SqliteDatabase from 'better-sqlite3';
import type { Message } from '../../core/types.js';
import type { MessagesTable } from './schema.js';

export interface StoredKey {
  roomId: string;
  senderId: string;
  clientMsgId: string;
}

export type RoomSeq = { id: string; last_seq: number };

/** The statements of one batch, each run inside that batch's transaction (the caller holds the write lock). */
export interface AppendStatements {
  /** The rooms' last_seq. */
  readLastSeqs(roomIds: string[]): RoomSeq[];
  /** The stored messages matching any of the idempotency keys. */
  findStored(keys: StoredKey[]): Array<Selectable<MessagesTable>>;
  insertMessages(messages: Message[]): void;
  /** Sets each room's last_seq. */
  setLastSeqs(lastSeqs: Array<[roomId: string, lastSeq: number]>): void;
}

/**
 * SQLite: synchronous statements on `db`, prepared on first use (after migrations: the tables exist by the first
 * append). The caller holds the write lock (BEGIN IMMEDIATE) around a batch.
 */
export function sqliteStatements(db: SqliteDatabase.Database): AppendStatements {
  let prepared: ReturnType<typeof prepare> | undefined;
  const statements = () => (prepared ??= prepare(db));
  return {
    readLastSeqs: (roomIds) =>
      roomIds.flatMap((id) => {
        const row = statements().room.get(id);
        return row ? [row] : [];
      }),
    findStored: (keys) =>
      keys.flatMap((k) => {
        const row = statements().stored.get(k.roomId, k.senderId, k.clientMsgId);
        return row ? [row] : [];
      }),
    insertMessages: (messages) => {
      const { insert } = statements();
      for (const m of messages) {
        insert.run(m.roomId, m.seq, m.id, m.senderId, m.senderName, m.type, m.body, m.clientMsgId, m.createdAt);
      }
    },
    setLastSeqs: (lastSeqs) => {
      const { setLastSeq } = statements();
      for (const [id, seq] of lastSeqs) setLastSeq.run(seq, id);
    },
  };
}

function prepare(db: SqliteDatabase.Database) {
  return {
    room: db.prepare<[string], RoomSeq>('select id, last_seq from rooms where id = ?'),
    stored: db.prepare<[string, string, string], Selectable<MessagesTable>>(
      'select * from messages where room_id = ? and sender_id = ? and client_msg_id = ?',
    ),
    insert: db.prepare<[string, number, string, string, string, string, string, string | null, number]>(
      `insert into messages (room_id, seq, id, sender_id, sender_name, type, body, client_msg_id, created_at)
       values (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    setLastSeq: db.prepare<[number, string]>('update rooms set last_seq = ? where id = ?'),
  };
}
