/**
 * The four statements of a group-committed append, per dialect, bound to the batch's write transaction.
 *
 * PostgreSQL: one round trip each, constant SQL text, the batch passed as typed arrays through unnest — a batch
 * of 500 parses like a batch of 1 and never nears the parameter limit. Lookups go through LATERAL … LIMIT 1 so
 * every key probes the unique index; a plain join lets the planner hash the whole messages table.
 * SQLite: in-process, so there is no round trip to save: prepared-once statements run per row on the
 * transaction's own connection (twice as fast as one multi-row INSERT that must be prepared anew). They are
 * synchronous, which lets the SQLite writer thread (sqlite-writer.ts) run a whole batch without yielding.
 */
import { sql, type Kysely, type Selectable } from 'kysely';
import type SqliteDatabase from 'better-sqlite3';
import type { Message } from '../../core/types.js';
import type { Database, MessagesTable } from './schema.js';

export interface StoredKey {
  roomId: string;
  senderId: string;
  clientMsgId: string;
}

export type RoomSeq = { id: string; last_seq: number };

type MaybePromise<T> = T | Promise<T>;

/** The statements of one batch, each run inside that batch's transaction. */
export interface AppendStatements {
  /** The rooms' last_seq, locked until commit where the dialect needs it (PostgreSQL: FOR UPDATE, by id). */
  lockRooms(roomIds: string[]): MaybePromise<RoomSeq[]>;
  /** The stored messages matching any of the idempotency keys. */
  findStored(keys: StoredKey[]): MaybePromise<Array<Selectable<MessagesTable>>>;
  insertMessages(messages: Message[]): MaybePromise<void>;
  /** Sets each room's last_seq. */
  setLastSeqs(lastSeqs: Array<[roomId: string, lastSeq: number]>): MaybePromise<void>;
}

/** PostgreSQL: the statements on `trx`, the batch's transaction. */
export function postgresStatements(trx: Kysely<Database>): AppendStatements {
  return {
    async lockRooms(roomIds) {
      const { rows } = await sql<RoomSeq>`
        select id, last_seq from rooms where id = any(${roomIds}::text[]) order by id for update`.execute(trx);
      return rows;
    },
    async findStored(keys) {
      const { rows } = await sql<Selectable<MessagesTable>>`
        select m.* from unnest(
          ${keys.map((k) => k.roomId)}::text[], ${keys.map((k) => k.senderId)}::text[], ${keys.map((k) => k.clientMsgId)}::text[]
        ) as k(room_id, sender_id, client_msg_id)
        cross join lateral (
          select * from messages
          where room_id = k.room_id and sender_id = k.sender_id and client_msg_id = k.client_msg_id
          limit 1
        ) as m`.execute(trx);
      return rows;
    },
    async insertMessages(messages) {
      const column = <T>(pick: (m: Message) => T) => messages.map(pick);
      await sql`
        insert into messages (room_id, seq, id, sender_id, sender_name, type, body, client_msg_id, created_at)
        select * from unnest(
          ${column((m) => m.roomId)}::text[], ${column((m) => m.seq)}::bigint[], ${column((m) => m.id)}::text[],
          ${column((m) => m.senderId)}::text[], ${column((m) => m.senderName)}::text[], ${column((m) => m.type)}::text[],
          ${column((m) => m.body)}::text[], ${column((m) => m.clientMsgId)}::text[], ${column((m) => m.createdAt)}::bigint[]
        )`.execute(trx);
    },
    async setLastSeqs(lastSeqs) {
      const ids = lastSeqs.map(([id]) => id);
      // `rooms.id = any(…)` lets the planner fetch just these rooms by primary key.
      await sql`
        update rooms set last_seq = v.last_seq
        from unnest(${ids}::text[], ${lastSeqs.map(([, seq]) => seq)}::bigint[]) as v(id, last_seq)
        where rooms.id = v.id and rooms.id = any(${ids}::text[])`.execute(trx);
    },
  };
}

/**
 * SQLite: synchronous statements on `db`, prepared on first use (after migrations: the tables exist by the first
 * append). The caller holds the write lock (BEGIN IMMEDIATE) around a batch.
 */
export function sqliteStatements(db: SqliteDatabase.Database): AppendStatements {
  let prepared: ReturnType<typeof prepare> | undefined;
  const statements = () => (prepared ??= prepare(db));
  return {
    lockRooms: (roomIds) =>
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
