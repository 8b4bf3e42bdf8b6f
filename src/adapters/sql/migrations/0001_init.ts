/**
 * 0001: users, rooms, memberships, messages, refresh tokens. Portable DDL (SQLite and PostgreSQL).
 */
import { sql, type Kysely } from 'kysely';
import { CONSTRAINTS } from '../schema.js';
import { createMessagesTable, IDEMPOTENCY_KEYS } from './messages-table.js';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('users')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('username', 'text', (c) => c.notNull())
    .addColumn('username_key', 'text', (c) => c.notNull())
    .addColumn('password_hash', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addUniqueConstraint(CONSTRAINTS.usernameKey.name, ['username_key'])
    .execute();

  await db.schema
    .createTable('rooms')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('name_key', 'text', (c) => c.notNull())
    .addColumn('visibility', 'text', (c) => c.notNull())
    .addColumn('owner_id', 'text', (c) => c.notNull().references('users.id'))
    .addColumn('last_seq', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addUniqueConstraint(CONSTRAINTS.roomNameKey.name, ['name_key'])
    .addCheckConstraint('rooms_visibility_check', sql`visibility in ('public', 'private')`)
    .execute();
  await db.schema.createIndex('rooms_visibility_name_key_idx').on('rooms').columns(['visibility', 'name_key']).execute();
  await db.schema.createIndex('rooms_owner_id_idx').on('rooms').column('owner_id').execute();

  await db.schema
    .createTable('room_members')
    .addColumn('room_id', 'text', (c) => c.notNull().references('rooms.id').onDelete('cascade'))
    .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('role', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('room_members_pk', ['room_id', 'user_id'])
    .addCheckConstraint('room_members_role_check', sql`role in ('owner', 'member')`)
    .execute();
  await db.schema.createIndex('room_members_user_id_idx').on('room_members').column('user_id').execute();

  // No foreign key on sender_id: sender_name is kept with the message, and history outlives accounts.
  await createMessagesTable(db, 'messages', IDEMPOTENCY_KEYS.byRoom);

  await db.schema
    .createTable('refresh_tokens')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('family_id', 'text', (c) => c.notNull())
    .addColumn('token_hash', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .addColumn('used_at', 'bigint')
    .addColumn('revoked_at', 'bigint')
    .addUniqueConstraint('refresh_tokens_token_hash_unique', ['token_hash'])
    .execute();
  await db.schema.createIndex('refresh_tokens_family_id_idx').on('refresh_tokens').column('family_id').execute();
  await db.schema.createIndex('refresh_tokens_user_id_idx').on('refresh_tokens').column('user_id').execute();
  await db.schema.createIndex('refresh_tokens_expires_at_idx').on('refresh_tokens').column('expires_at').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of ['refresh_tokens', 'messages', 'room_members', 'rooms', 'users']) {
    await db.schema.dropTable(table).ifExists().execute();
  }
}
