/**
 * What only the SQL store can show, on SQLite files and PostgreSQL: several stores (processes) on one PostgreSQL,
 * a failing database (nothing acked, UNAVAILABLE, recovery with no seq lost), a row the database refuses
 * (only its caller fails), dead PostgreSQL connections (logged, no crash), close draining the queue.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import type { SqlStoreLog } from '../../src/adapters/sql/sql-database.js';
import { openSqlStore, type SqlStore } from '../../src/adapters/sql/sql-database.js';
import { ChatError } from '../../src/core/errors.js';
import { createTestDatabase, describeWithPostgres, probePostgres, type TestDatabase } from '../support/postgres.js';
import { expectChatError, expectRejectedWith, givenRoom, givenUser, messageFor, range, unique } from './store-fixtures.js';

interface Target {
  /** A fresh database URL. */
  newUrl(): Promise<string>;
  /** Runs SQL on that database through a separate connection (an operator, or another process). */
  exec(url: string, statements: string): Promise<void>;
  failAllInserts: string;
  allowInserts: string;
  poisonBody: string;
}

/** Collects what the store logs; `reported` resolves at the first report. */
function recordingLog() {
  const reports: object[] = [];
  let notify = () => {};
  const reported = new Promise<void>((resolve) => (notify = resolve));
  const record = (obj: object) => {
    reports.push(obj);
    notify();
  };
  const log: SqlStoreLog = { warn: record, error: record };
  return { log, reports, reported };
}

function sqlFaultSuite(target: Target): void {
  it('acks nothing while the database fails (UNAVAILABLE, temporary), then resumes with no seq lost', async () => {
    const url = await target.newUrl();
    const { log, reports } = recordingLog();
    const store = await openSqlStore({ url, log });
    try {
      const user = await givenUser(store);
      const room = await givenRoom(store, user);
      await store.append(messageFor(room, user));
      await target.exec(url, target.failAllInserts);

      const settled = await Promise.allSettled(range(10).map(() => store.append(messageFor(room, user))));
      for (const outcome of settled) expectRejectedWith(outcome, 'UNAVAILABLE');
      const failure = (settled[0] as PromiseRejectedResult).reason as ChatError;
      expect(failure.temporary).toBe(true);
      expect(failure.cause).toBeDefined();
      expect(await store.head(room.id)).toBe(1);
      expect(reports.length).toBeGreaterThan(0);

      await target.exec(url, target.allowInserts);
      const next = await store.append(messageFor(room, user));
      expect(next.message.seq).toBe(2);
      expect((await store.readAfter(room.id, 0, 10)).map((m) => m.seq)).toEqual([1, 2]);
    } finally {
      await store.close();
    }
  });

  it('fails only the caller whose row the database refuses, not its batch-mates', async () => {
    const url = await target.newUrl();
    const store = await openSqlStore({ url, log: recordingLog().log });
    try {
      const user = await givenUser(store);
      const room = await givenRoom(store, user);
      await target.exec(url, target.poisonBody);
      const inputs = range(9).map((i) => messageFor(room, user, { body: i === 4 ? 'poison' : `ok ${i}` }));
      const settled = await Promise.allSettled(inputs.map((input) => store.append(input)));
      expectRejectedWith(settled[4], 'INTERNAL');
      const acked = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value.message.seq] : []));
      expect(acked.sort((x, y) => x - y)).toEqual(range(8).map((i) => i + 1));
      expect(await store.head(room.id)).toBe(8);
    } finally {
      await store.close();
    }
  });

  it('settles every queued append before close resolves', async () => {
    const url = await target.newUrl();
    const store = await openSqlStore({ url });
    const user = await givenUser(store);
    const room = await givenRoom(store, user);
    const pending = range(300).map((i) => store.append(messageFor(room, user, { body: `${i}` })));
    await store.close();
    const results = await Promise.all(pending);
    await expectChatError(store.append(messageFor(room, user)), 'UNAVAILABLE');
    const reopened = await openSqlStore({ url });
    try {
      expect(await reopened.head(room.id)).toBe(300);
      expect(results.map((r) => r.message.seq).sort((x, y) => x - y)).toEqual(range(300).map((i) => i + 1));
    } finally {
      await reopened.close();
    }
  });
}

describe('SqlStore faults on SQLite files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'natter-faults-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  sqlFaultSuite({
    newUrl: async () => `sqlite:${join(dir, `${unique('db')}.db`)}`,
    exec: async (url, statements) => {
      const raw = new SqliteDatabase(url.slice('sqlite:'.length));
      try {
        raw.exec(statements);
      } finally {
        raw.close();
      }
    },
    // Resolved when an insert is prepared: the statement fails as a whole, like a database error.
    failAllInserts: 'create trigger fail_all before insert on messages begin insert into no_such_table values (1); end;',
    allowInserts: 'drop trigger fail_all;',
    poisonBody: `create trigger poison before insert on messages when new.body = 'poison' begin select raise(abort, 'poison'); end;`,
  });
});

describeWithPostgres(await probePostgres(), 'SqlStore faults on PostgreSQL', (database) => {
  const created: TestDatabase[] = [];
  afterAll(() => Promise.all(created.map((db) => db.drop())));
  const freshDatabase = async () => {
    const db = await createTestDatabase();
    created.push(db);
    return db;
  };
  const exec = async (url: string, statements: string) => {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      await client.query(statements);
    } finally {
      await client.end();
    }
  };
  sqlFaultSuite({
    newUrl: async () => (await freshDatabase()).url,
    exec,
    failAllInserts: `
      create or replace function natter_fail() returns trigger language plpgsql as
        $$ begin raise exception 'injected failure' using errcode = 'XX000'; end $$;
      create trigger fail_all before insert on messages for each statement execute function natter_fail();`,
    allowInserts: 'drop trigger fail_all on messages;',
    poisonBody: `
      create or replace function natter_poison() returns trigger language plpgsql as
        $$ begin if new.body = 'poison' then raise exception 'poison' using errcode = '22023'; end if; return new; end $$;
      drop trigger if exists poison on messages;
      create trigger poison before insert on messages for each row execute function natter_poison();`,
  });

  it('keeps seq 1..N and one row per clientMsgId with two stores appending to one database', async () => {
    const url = (await freshDatabase()).url;
    const { log, reports } = recordingLog();
    const [a, b] = [await openSqlStore({ url, log }), await openSqlStore({ url, log })];
    try {
      const user = await givenUser(a);
      const rooms = await Promise.all(range(5).map(() => givenRoom(a, user)));
      const inputs = range(600).map((i) => messageFor(rooms[i % 5]!, user, { clientMsgId: `c${i % 400}` }));
      const results = await Promise.all(inputs.map((input, i) => (i % 2 ? a : b).append(input)));
      for (const room of rooms) {
        const stored = await b.readAfter(room.id, 0, 1_000);
        expect(stored.map((m) => m.seq)).toEqual(range(80).map((i) => i + 1));
        expect(new Set(stored.map((m) => m.clientMsgId)).size).toBe(80);
        expect(await a.head(room.id)).toBe(80);
      }
      expect(results.filter((r) => !r.duplicate)).toHaveLength(400);
      for (const r of results) expect(r.message).toEqual((await a.readAfter(r.message.roomId, r.message.seq - 1, 1))[0]);
      expect(reports, 'no batch may fail or be split: the room locks serialize the two stores').toEqual([]);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('logs dead pool connections instead of crashing, and serves again on fresh ones', async () => {
    const { log, reported, reports } = recordingLog();
    const store: SqlStore = await openSqlStore({ url: database().url, log });
    try {
      const user = await givenUser(store);
      const room = await givenRoom(store, user);
      await Promise.all(range(20).map(() => store.append(messageFor(room, user)))); // warm several connections
      const url = new URL(database().url);
      await exec(
        url.toString(),
        `select pg_terminate_backend(pid) from pg_stat_activity
          where datname = '${url.pathname.slice(1)}' and application_name = 'natter' and pid <> pg_backend_pid()`,
      );
      await reported; // bounded by the test timeout
      for (const report of reports) expect(Object.keys((report as { err: object }).err)).not.toContain('client');
      await store.ping();
      expect((await store.append(messageFor(room, user))).message.seq).toBe(21);
    } finally {
      await store.close();
    }
  });

  it('rejects opening an unreachable server with UNAVAILABLE', async () => {
    await expectChatError(openSqlStore({ url: 'postgres://postgres@127.0.0.1:1/natter', log: recordingLog().log }), 'UNAVAILABLE');
  });
});
