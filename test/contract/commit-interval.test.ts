/**
 * The commit interval (COMMIT_INTERVAL_MS, sql-message-store.ts): appends that arrive sooner than the interval
 * after the last group commit's hand-off wait and share the next commit; without an interval each goes as soon as
 * the writer is free; a full batch never waits. Counted by the store's own transaction timer (a recording Metrics),
 * on a SQLite file (the writer thread), on SQLite in memory (commits on the event loop) and on PostgreSQL.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openSqlStore } from '../../src/adapters/sql/sql-database.js';
import { NO_METRICS, type Metrics } from '../../src/core/metrics.js';
import { describeWithPostgres, probePostgres } from '../support/postgres.js';
import { givenRoom, givenUser, messageFor, unique } from './store-fixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'natter-interval-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Opens a store whose group commits are recorded: when each was handed to the database (performance.now()). */
async function recordedStore(url: string, appends: { commitIntervalMs: number; maxBatch?: number }) {
  const handOffs: number[] = [];
  const metrics: Metrics = {
    ...NO_METRICS,
    startTimer: (name, labels) => {
      if (name === 'dbQuery' && labels?.kind === 'transaction') handOffs.push(performance.now());
      return () => undefined;
    },
  };
  const store = await openSqlStore({ url, metrics, appends });
  const user = await givenUser(store);
  const room = await givenRoom(store, user);
  // A first append warms up (a file's writer thread takes a while to load); what follows is measured.
  await store.append(messageFor(room, user));
  handOffs.length = 0;
  return { store, user, room, handOffs };
}

/**
 * After the warm-up: one append, then — once it is acked — two more, one event-loop turn apart: how many commits,
 * and when.
 */
async function oneThenTwo(url: string, commitIntervalMs: number) {
  const { store, user, room, handOffs } = await recordedStore(url, { commitIntervalMs });
  try {
    const first = await store.append(messageFor(room, user));
    const second = store.append(messageFor(room, user));
    await nextTurn();
    const third = store.append(messageFor(room, user));
    const seqs = [first, await second, await third].map((r) => r.message.seq);
    return { seqs, handOffs: [...handOffs] };
  } finally {
    await store.close();
  }
}

/** The cases on the store at `url` (a fresh database file, or one database for the suite). */
function commitIntervalSuite(url: () => string) {
  it('appends that arrive within the interval after a commit share the next one, handed off no sooner', async () => {
    const { seqs, handOffs } = await oneThenTwo(url(), 1_000);
    expect(seqs).toEqual([seqs[0], seqs[0]! + 1, seqs[0]! + 2]);
    expect(handOffs).toHaveLength(2);
    expect(handOffs[1]! - handOffs[0]!).toBeGreaterThanOrEqual(995);
  });

  it('without an interval, each append goes as soon as the writer is free', async () => {
    const { seqs, handOffs } = await oneThenTwo(url(), 0);
    expect(seqs).toEqual([seqs[0], seqs[0]! + 1, seqs[0]! + 2]);
    expect(handOffs).toHaveLength(3);
  });

  it('a full batch does not wait for the interval', async () => {
    // An interval far beyond the test's timeout: waiting for it would fail the test.
    const { store, user, room, handOffs } = await recordedStore(url(), { commitIntervalMs: 60_000, maxBatch: 2 });
    try {
      const acks = await Promise.all([store.append(messageFor(room, user)), store.append(messageFor(room, user))]);
      expect(acks[1]!.message.seq).toBe(acks[0]!.message.seq + 1);
      expect(handOffs).toHaveLength(1);
    } finally {
      await store.close();
    }
  });

  it('a batch that fills up while it waits for the interval goes at once', async () => {
    const { store, user, room, handOffs } = await recordedStore(url(), { commitIntervalMs: 60_000, maxBatch: 2 });
    try {
      const first = store.append(messageFor(room, user)); // alone: waits for the interval
      await nextTurn();
      await nextTurn();
      const second = store.append(messageFor(room, user)); // fills the batch: ends the wait
      const acks = await Promise.all([first, second]);
      expect(acks[1]!.message.seq).toBe(acks[0]!.message.seq + 1);
      expect(handOffs).toHaveLength(1);
    } finally {
      await store.close();
    }
  });
}

describe('commit interval on a SQLite file', () => commitIntervalSuite(() => `sqlite:${join(dir, unique('db'), 'natter.db')}`));
describe('commit interval on SQLite :memory:', () => commitIntervalSuite(() => 'sqlite::memory:'));
describeWithPostgres(await probePostgres(), 'commit interval on PostgreSQL', (database) => commitIntervalSuite(() => database().url));
