/**
 * Migration 0004 (the idempotency key led by client_msg_id) on a database that already holds messages, on SQLite
 * (a table rebuild) and PostgreSQL (a new constraint): every row survives, the rule still holds, the store's
 * lookup uses the new index, and `down` restores the old key. Migration 0005 on the same database: rooms that
 * existed before it start at access revision 0, and its `down` drops the column again.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Migrator, sql } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import { migrationProvider } from '../../src/adapters/sql/migrations/index.js';
import { parseDatabaseUrl } from '../../src/adapters/sql/sql-database.js';
import { connectDatabase, type SqlDatabase } from '../../src/adapters/sql/sql-connection.js';
import { describeWithPostgres, probePostgres } from '../support/postgres.js';

const log = { warn: () => undefined, error: () => undefined };
const BEFORE = '0003_pg_append_function';

async function migrateTo(database: SqlDatabase, target: string): Promise<void> {
  const { error } = await new Migrator({ db: database.db, provider: migrationProvider }).migrateTo(target);
  if (error) throw error;
}

async function migrateToLatest(database: SqlDatabase): Promise<void> {
  const { error } = await new Migrator({ db: database.db, provider: migrationProvider }).migrateToLatest();
  if (error) throw error;
}

/** A user, a room and three messages, one without a client_msg_id. */
async function seedBeforeRekey(database: SqlDatabase): Promise<void> {
  const { db } = database;
  await db.insertInto('users').values({ id: 'u1', username: 'ann', username_key: 'ann', password_hash: 'x', created_at: 1 }).execute();
  await db.insertInto('rooms').values({ id: 'r1', name: 'lobby', name_key: 'lobby', visibility: 'public', owner_id: 'u1', last_seq: 3, created_at: 1 }).execute();
  const row = (seq: number, clientMsgId: string | null) => ({
    room_id: 'r1', seq, id: `m${seq}`, sender_id: 'u1', sender_name: 'ann', type: 'text' as const, body: `body ${seq} 🦊`, client_msg_id: clientMsgId, created_at: 10 + seq,
  });
  await db.insertInto('messages').values([row(1, 'k1'), row(2, null), row(3, 'k3')]).execute();
}

const allMessages = (database: SqlDatabase) => database.db.selectFrom('messages').selectAll().orderBy('seq').execute();

const duplicateKey = (database: SqlDatabase) =>
  database.db
    .insertInto('messages')
    .values({ room_id: 'r1', seq: 4, id: 'm4', sender_id: 'u1', sender_name: 'ann', type: 'text', body: 'again', client_msg_id: 'k1', created_at: 20 })
    .execute();

function runMigrationChecks(open: () => Promise<SqlDatabase>, plan?: (database: SqlDatabase) => Promise<string>) {
  it('keeps every message and the one-row-per-key rule through 0004 and back', async () => {
    const database = await open();
    try {
      await migrateTo(database, BEFORE);
      await seedBeforeRekey(database);
      const before = await allMessages(database);

      await migrateToLatest(database);
      expect(await allMessages(database)).toEqual(before);
      expect(await database.db.selectFrom('rooms').select(['id', 'last_seq', 'access_rev']).execute()).toEqual([{ id: 'r1', last_seq: 3, access_rev: 0 }]);
      await expect(duplicateKey(database)).rejects.toThrow(/unique|duplicate/i);
      if (plan) expect(await plan(database)).toMatch(/client_msg_id=\? AND sender_id=\? AND room_id=\?/);

      await migrateTo(database, BEFORE);
      expect(await allMessages(database)).toEqual(before);
      await expect(duplicateKey(database)).rejects.toThrow(/unique|duplicate/i);
    } finally {
      await database.destroy();
    }
  });
}

describe('migration 0004 on SQLite', () => {
  const dir = mkdtempSync(join(tmpdir(), 'natter-migrate-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  runMigrationChecks(
    async () => connectDatabase(parseDatabaseUrl(`sqlite:${join(dir, 'natter.db')}`), log),
    // The store's idempotency lookup (sql-append-statements.ts), as SQLite plans it.
    async (database) => {
      const { rows } = await sql<{ detail: string }>`explain query plan
        select * from messages where room_id = ${'r1'} and sender_id = ${'u1'} and client_msg_id = ${'k1'}`.execute(database.db);
      return rows.map((r) => r.detail).join('\n');
    },
  );
});

describeWithPostgres(await probePostgres(), 'migration 0004 on PostgreSQL', (database) => {
  runMigrationChecks(async () => connectDatabase({ dialect: 'postgres', url: database().url }, log));
});
