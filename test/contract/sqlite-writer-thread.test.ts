/**
 * The SQLite writer thread (src/adapters/sql/sqlite-writer-thread.ts): what the store contract cannot show — a
 * worker that cannot open its file fails its batch with the driver's error (so the store answers UNAVAILABLE, not
 * a hang), the thread is replaced on the next write, and the same batch committed on the event loop and on the
 * thread gives the same answers. And its checkpointer thread: committed appends reach the database file itself
 * (not only the WAL) without any commit checkpointing; a checkpointer that cannot run is reported.
 */
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { openSqlStore } from '../../src/adapters/sql/sql-database.js';
import { SqliteWriterThread } from '../../src/adapters/sql/sqlite-writer-thread.js';
import { asMessageId, asRoomId, asUserId } from '../../src/core/types.js';
import type { AppendInput } from '../../src/core/ports.js';
import { givenRoom, givenUser, messageFor } from './store-fixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'natter-writer-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const input = (n: number): AppendInput => ({
  id: asMessageId(`m${n}`),
  roomId: asRoomId('nowhere'),
  senderId: asUserId('u'),
  senderName: 'u',
  type: 'text',
  body: 'hi',
  clientMsgId: `c${n}`,
  createdAt: 0,
});

describe('SqliteWriterThread', () => {
  it('fails a batch it cannot commit with the driver error, and starts a fresh worker for the next one', async () => {
    const notADatabase = join(dir, 'not-a-database');
    writeFileSync(notADatabase, 'this is not an SQLite file, and it is long enough to have a header: '.repeat(20));
    const thread = new SqliteWriterThread(notADatabase);
    try {
      const first = await thread.write([input(1)]).then(() => 'committed', (err: Error & { code?: string }) => err);
      expect(first).toBeInstanceOf(Error);
      expect((first as Error & { code?: string }).code).toBe('SQLITE_NOTADB');
      const second = await thread.write([input(2)]).then(() => 'committed', (err: Error & { code?: string }) => err.code);
      expect(second).toBe('SQLITE_NOTADB');
    } finally {
      await thread.close();
    }
  });

  it('answers a batch on the thread exactly as on the event loop (seqs, retries, unknown rooms)', async () => {
    const answers = [];
    for (const writerThread of [true, false]) {
      const store = await openSqlStore({ url: `sqlite:${join(dir, `same-${writerThread}.db`)}`, appends: { writerThread } });
      try {
        const user = await givenUser(store);
        const room = await givenRoom(store, user);
        const batch = [
          messageFor(room, user, { clientMsgId: 'a' }),
          messageFor(room, user, { clientMsgId: 'b' }),
          messageFor(room, user, { clientMsgId: 'a' }),
          { ...messageFor(room, user, { clientMsgId: 'c' }), roomId: asRoomId('missing') },
          messageFor(room, user, { clientMsgId: null }),
        ];
        const settled = await Promise.allSettled(batch.map((m) => store.append(m)));
        answers.push(
          settled.map((s) => (s.status === 'fulfilled' ? { seq: s.value.message.seq, duplicate: s.value.duplicate } : { error: (s.reason as { code: string }).code })),
        );
      } finally {
        await store.close();
      }
    }
    expect(answers[0]).toEqual([
      { seq: 1, duplicate: false },
      { seq: 2, duplicate: false },
      { seq: 1, duplicate: true },
      { error: 'ROOM_NOT_FOUND' },
      { seq: 3, duplicate: false },
    ]);
    expect(answers[1]).toEqual(answers[0]);
  });

  /** Messages in the database file alone, as a copy of it without its WAL shows them. */
  function messagesInDatabaseFile(filename: string): number {
    const copy = `${filename}.copy-${Math.random().toString(36).slice(2)}`;
    copyFileSync(filename, copy);
    const db = new SqliteDatabase(copy);
    try {
      const table = db.prepare("select count(*) as n from sqlite_master where type = 'table' and name = 'messages'").get() as { n: number };
      return table.n === 0 ? 0 : (db.prepare('select count(*) as n from messages').get() as { n: number }).n;
    } finally {
      db.close();
      rmSync(copy, { force: true });
    }
  }

  for (const checkpointerThread of [true, false]) {
    it(`${checkpointerThread ? 'copies' : 'without the checkpointer thread, does not copy'} committed appends into the database file while the WAL is small`, async () => {
      const filename = join(dir, `checkpoint-${checkpointerThread}.db`);
      const store = await openSqlStore({ url: `sqlite:${filename}`, appends: { writerThread: true, checkpointerThread } });
      try {
        const user = await givenUser(store);
        const room = await givenRoom(store, user);
        const before = messagesInDatabaseFile(filename);
        await Promise.all(Array.from({ length: 20 }, (_, i) => store.append(messageFor(room, user, { clientMsgId: `ck-${i}` }))));
        // Far below the writer's own checkpoint threshold (10,000 WAL frames): only the checkpointer copies them.
        if (checkpointerThread) await vi.waitFor(() => expect(messagesInDatabaseFile(filename)).toBe(before + 20), { timeout: 10_000, interval: 20 });
        else expect(messagesInDatabaseFile(filename)).toBe(before);
      } finally {
        await store.close();
      }
      expect(messagesInDatabaseFile(filename)).toBeGreaterThanOrEqual(20); // closing checkpoints what is left
    });
  }

  it('reports a checkpointer thread that cannot run, and goes on committing without it', async () => {
    const notADatabase = join(dir, 'not-a-database-either');
    writeFileSync(notADatabase, 'this is not an SQLite file, and it is long enough to have a header: '.repeat(20));
    let reported: (error: Error) => void = () => undefined;
    const stopped = new Promise<Error>((resolve) => (reported = resolve));
    const thread = new SqliteWriterThread(notADatabase, { onCheckpointerStopped: (error) => reported(error) });
    try {
      expect((await stopped) as Error & { code?: string }).toMatchObject({ code: 'SQLITE_NOTADB' });
      const write = await thread.write([input(3)]).then(() => 'committed', (err: Error & { code?: string }) => err.code);
      expect(write).toBe('SQLITE_NOTADB'); // the writer's own answer, unchanged
    } finally {
      await thread.close();
    }
  });
});
