/**
 * better-sqlite3 for Kysely with its prepared statements kept: Kysely's SQLite driver prepares every query anew,
 * and preparing costs more than running a point read. The statements are kept by their SQL text (Kysely binds
 * every value as a parameter, so one query shape is one text), the least recently used dropped beyond `size`.
 * Safe because better-sqlite3 runs a statement to completion synchronously and re-prepares it itself after a
 * schema change; only streaming (`iterate`) could hold a statement open, and natter never streams.
 */
import type SqliteDatabase from 'better-sqlite3';
import type { SqliteDatabase as KyselySqliteDatabase, SqliteStatement } from 'kysely';

export function withStatementCache(raw: SqliteDatabase.Database, size = 200): KyselySqliteDatabase {
  const statements = new Map<string, SqliteStatement>();
  return {
    close: () => raw.close(),
    prepare(sql: string): SqliteStatement {
      let statement = statements.get(sql);
      if (statement === undefined) {
        statement = raw.prepare(sql);
        if (statements.size >= size) statements.delete(statements.keys().next().value!);
      } else {
        statements.delete(sql); // re-inserted below: Map order is the recency order
      }
      statements.set(sql, statement);
      return statement;
    },
  };
}
