/**
 * 0004: the idempotency key's unique index leads with `client_msg_id`: (client_msg_id, sender_id, room_id), was
 * (room_id, sender_id, client_msg_id). The same rule (one row per room, sender and client_msg_id), the same lookups
 * (all three columns by equality, so either order serves them) — but where each new key lands in the index.
 *
 * Led by the room, every message's key goes into its own room's part of the index, at a random place: a batch of
 * 21 messages over 100 rooms dirtied ~35 index pages, half the commit's WAL frames. Led by the client_msg_id, keys
 * that begin with the time (as the SDK's do, client/outbox.ts) all land at the index's right edge, a page or two
 * per batch: on SQLite a batch of 21 writes 38 frames instead of 71 and costs 23 instead of 43 µs of CPU per
 * message (docs/benchmarks.md, session 6). Random keys (UUIDs) cost what they did before.
 *
 * SQLite cannot drop a table's UNIQUE constraint, so the table is rebuilt (its rows copied once, at the start that
 * applies this); PostgreSQL builds the new index and drops the old constraint.
 */
import { sql, type Kysely } from 'kysely';
import { isPostgres } from './dialect.js';
import { createMessagesTable, IDEMPOTENCY_KEYS, type IdempotencyKey } from './messages-table.js';

const { byRoom: OLD, byClientMsgId: NEW } = IDEMPOTENCY_KEYS;

export async function up(db: Kysely<unknown>): Promise<void> {
  await rekey(db, OLD, NEW);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await rekey(db, NEW, OLD);
}

async function rekey(db: Kysely<unknown>, from: IdempotencyKey, to: IdempotencyKey): Promise<void> {
  if (isPostgres(db)) {
    await db.schema.alterTable('messages').addUniqueConstraint(to.name, to.columns).execute();
    await db.schema.alterTable('messages').dropConstraint(from.name).execute();
    return;
  }
  // SQLite: the documented table rebuild (create, copy, drop, rename). Nothing references `messages`.
  await createMessagesTable(db, 'messages_rekeyed', to);
  await sql`insert into messages_rekeyed (room_id, seq, id, sender_id, sender_name, type, body, client_msg_id, created_at)
    select room_id, seq, id, sender_id, sender_name, type, body, client_msg_id, created_at from messages`.execute(db);
  await db.schema.dropTable('messages').execute();
  await db.schema.alterTable('messages_rekeyed').renameTo('messages').execute();
}
