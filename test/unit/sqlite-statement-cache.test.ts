/** The Kysely-facing statement cache over better-sqlite3 (src/adapters/sql/sqlite-statement-cache.ts). */
import SqliteDatabase from 'better-sqlite3';
import { Kysely, SqliteDialect, sql } from 'kysely';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { withStatementCache } from '../../src/adapters/sql/sqlite-statement-cache.js';

describe('withStatementCache', () => {
  const raw = new SqliteDatabase(':memory:');
  afterEach(() => vi.restoreAllMocks());

  it('prepares one query shape once, whatever its parameters', async () => {
    raw.exec('create table t (id integer primary key, name text)');
    const db = new Kysely<{ t: { id: number; name: string } }>({ dialect: new SqliteDialect({ database: withStatementCache(raw) }) });
    const prepare = vi.spyOn(raw, 'prepare');
    for (let i = 1; i <= 5; i++) await db.insertInto('t').values({ id: i, name: `n${i}` }).execute();
    const names = [];
    for (let i = 1; i <= 5; i++) names.push((await db.selectFrom('t').select('name').where('id', '=', i).executeTakeFirst())?.name);
    expect(names).toEqual(['n1', 'n2', 'n3', 'n4', 'n5']);
    expect(prepare).toHaveBeenCalledTimes(2);
  });

  it('drops the least recently used statement beyond its size', () => {
    const cache = withStatementCache(raw, 2);
    const prepare = vi.spyOn(raw, 'prepare');
    const a = cache.prepare('select 1');
    cache.prepare('select 2');
    expect(cache.prepare('select 1')).toBe(a); // used again: now the most recent
    cache.prepare('select 3'); // evicts 'select 2'
    expect(cache.prepare('select 1')).toBe(a);
    cache.prepare('select 2');
    expect(prepare.mock.calls.map(([text]) => text)).toEqual(['select 1', 'select 2', 'select 3', 'select 2']);
  });

  it('answers with the current schema after a schema change', async () => {
    raw.exec('create table s (id integer primary key)');
    raw.exec('insert into s values (1)');
    const db = new Kysely<{ s: { id: number; extra?: string } }>({ dialect: new SqliteDialect({ database: withStatementCache(raw) }) });
    expect(await db.selectFrom('s').selectAll().execute()).toEqual([{ id: 1 }]);
    await sql`alter table s add column extra text default 'x'`.execute(db);
    expect(await db.selectFrom('s').selectAll().execute()).toEqual([{ id: 1, extra: 'x' }]);
  });
});
