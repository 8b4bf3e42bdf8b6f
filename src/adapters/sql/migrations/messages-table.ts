/**
 * The messages table's DDL, shared by 0001 (which created it) and 0004 (which rebuilds it on SQLite with the
 * idempotency key reordered). Portable (SQLite and PostgreSQL).
 */
import { sql, type Kysely } from 'kysely';

export interface IdempotencyKey {
  name: string;
  columns: Array<'room_id' | 'sender_id' | 'client_msg_id'>;
}

/** One row per (room, sender, client_msg_id): 0001's column order, and 0004's. */
export const IDEMPOTENCY_KEYS = {
  byRoom: { name: 'messages_client_msg_id_unique', columns: ['room_id', 'sender_id', 'client_msg_id'] },
  byClientMsgId: { name: 'messages_idempotency_unique', columns: ['client_msg_id', 'sender_id', 'room_id'] },
} satisfies Record<string, IdempotencyKey>;

/** The messages table of 0001, with the idempotency key `key`. */
export async function createMessagesTable(db: Kysely<unknown>, name: string, key: IdempotencyKey): Promise<void> {
  await db.schema
    .createTable(name)
    .addColumn('room_id', 'text', (c) => c.notNull().references('rooms.id').onDelete('cascade'))
    .addColumn('seq', 'bigint', (c) => c.notNull())
    .addColumn('id', 'text', (c) => c.notNull())
    .addColumn('sender_id', 'text', (c) => c.notNull())
    .addColumn('sender_name', 'text', (c) => c.notNull())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('body', 'text', (c) => c.notNull())
    .addColumn('client_msg_id', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('messages_pk', ['room_id', 'seq'])
    .addUniqueConstraint('messages_id_unique', ['id'])
    .addUniqueConstraint(key.name, key.columns)
    .addCheckConstraint('messages_type_check', sql`type in ('text', 'system')`)
    .execute();
}
