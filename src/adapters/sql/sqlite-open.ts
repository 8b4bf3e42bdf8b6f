/** Opens a SQLite database with natter's pragmas: the one place they are set, for every connection and thread. */
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import SqliteDatabase from 'better-sqlite3';

/**
 * Checkpoint the WAL into the database file once it holds this many pages (SQLite's default is 1,000). Appends
 * to many rooms rewrite the same few hundred index pages; a larger WAL checkpoints each of them once instead of
 * ten times, which makes appends ~20% cheaper and a commit's p99 5x shorter (0.85 vs 4.5 ms at 16 rows). The WAL
 * file grows to ~40 MB.
 */
export const WAL_AUTOCHECKPOINT_PAGES = 10_000;

export function openSqlite(filename: string): SqliteDatabase.Database {
  if (filename !== ':memory:') mkdirSync(dirname(resolve(filename)), { recursive: true });
  const raw = new SqliteDatabase(filename);
  try {
    raw.pragma('journal_mode = WAL');
    // Durability is "committed before acked": every commit is synced. Do not weaken.
    raw.pragma('synchronous = FULL');
    raw.pragma('busy_timeout = 5000');
    raw.pragma('foreign_keys = ON');
    raw.pragma(`wal_autocheckpoint = ${WAL_AUTOCHECKPOINT_PAGES}`);
  } catch (error) {
    raw.close();
    throw error;
  }
  return raw;
}

/** Rolls back what is still open; a failing rollback must not hide the error that caused it. */
export function rollbackQuietly(raw: SqliteDatabase.Database): void {
  try {
    if (raw.inTransaction) raw.exec('rollback');
  } catch {
    // The connection is unusable anyway; the caller reports the first error.
  }
}
