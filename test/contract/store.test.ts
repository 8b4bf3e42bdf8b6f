/**
 * The one Store contract on every adapter: memory, SQLite in memory, SQLite file, PostgreSQL. Plus what only a
 * file-backed store can show: a restart keeps messages and head, and seq carries on from there.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MemoryStore } from '../../src/adapters/memory/memory-store.js';
import { openSqlStore } from '../../src/adapters/sql/sql-database.js';
import { describeWithPostgres, probePostgres } from '../support/postgres.js';
import { runStoreContract } from './store-contract.js';
import { givenRoom, givenUser, messageFor, range, unique } from './store-fixtures.js';

/** A log that must stay silent: in these runs no batch may fail or be split. */
function silentLog() {
  const reports: Array<{ obj: object; msg: string }> = [];
  const record = (obj: object, msg: string) => void reports.push({ obj, msg });
  return { log: { warn: record, error: record }, assertSilent: () => expect(reports).toEqual([]) };
}

async function openChecked(url: string) {
  const { log, assertSilent } = silentLog();
  const store = await openSqlStore({ url, log });
  return {
    store,
    cleanup: async () => {
      await store.close();
      assertSilent();
    },
  };
}

runStoreContract('MemoryStore', async () => {
  const store = new MemoryStore();
  return { store, cleanup: () => store.close() };
});

runStoreContract('SqlStore (SQLite :memory:)', () => openChecked('sqlite::memory:'));

describe('SQLite file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'natter-store-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  runStoreContract('SqlStore (SQLite file)', () => openChecked(`sqlite:${join(dir, unique('db'), 'natter.db')}`));

  it('keeps messages and head across a restart; the next append gets head + 1', async () => {
    const url = `sqlite:${join(dir, 'restart', 'natter.db')}`;
    const first = await openSqlStore({ url, log: silentLog().log });
    const user = await givenUser(first);
    const room = await givenRoom(first, user);
    const acked = await Promise.all(range(5).map((i) => first.append(messageFor(room, user, { body: `before ${i}` }))));
    await first.close();

    const reopened = await openSqlStore({ url, log: silentLog().log });
    try {
      expect(await reopened.head(room.id)).toBe(5);
      expect(await reopened.readAfter(room.id, 0, 10)).toEqual(acked.map((r) => r.message).sort((a, b) => a.seq - b.seq));
      expect(await reopened.getRoom(room.id)).toEqual(room);
      expect(await reopened.findUserByName(user.username)).toEqual(user);
      const retry = await reopened.append({ ...messageFor(room, user), clientMsgId: acked[0]!.message.clientMsgId });
      expect(retry).toEqual({ message: acked[0]!.message, duplicate: true });
      const next = await reopened.append(messageFor(room, user, { body: 'after' }));
      expect(next.message.seq).toBe(6);
      expect(await reopened.head(room.id)).toBe(6);
    } finally {
      await reopened.close();
    }
  });
});

describeWithPostgres(await probePostgres(), 'PostgreSQL', (database) => {
  runStoreContract('SqlStore (PostgreSQL)', () => openChecked(database().url));
});
