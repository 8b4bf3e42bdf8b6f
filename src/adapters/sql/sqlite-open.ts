/** Opens a SQLite database with natter's pragmas: the one place they are set, for every connection and thread. */
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import SqliteDatabase from 'better-sqlite3';

export function openSqlite(filename: string): SqliteDatabase.Database {
  if (filename !== ':memory:') mkdirSync(dirname(resolve(filename)), { recursive: true });
  const raw = new SqliteDatabase(filename);
  try {
    raw.pragma('journal_mode = WAL');
    // Durability is "committed before acked": every commit is synced. Do not weaken.
    raw.pragma('synchronous = FULL');
    raw.pragma('busy_timeout = 5000');
    raw.pragma('foreign_keys = ON');
  } catch (error) {
    raw.close();
    throw error;
  }
  return raw;
}
