/**
 * Connections: SQLite (file or memory, via better-sqlite3) with durable pragmas, PostgreSQL via a pg Pool with
 * its errors handled, and the one way to run a write transaction on either.
 */
import type SqliteDatabase from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect, sql } from 'kysely';
import pg from 'pg';
import type { LogEvent } from 'kysely';
import type { Metrics } from '../../core/metrics.js';
import type { Database } from './schema.js';
import { loggableError } from './sql-errors.js';
import { openSqlite, rollbackQuietly } from './sqlite-open.js';
import { withStatementCache } from './sqlite-statement-cache.js';

export type DatabaseTarget =
  | { dialect: 'sqlite'; /** a path, or ':memory:' */ filename: string }
  | { dialect: 'postgres'; url: string };

export type SqlDialectName = DatabaseTarget['dialect'];

/** Where the store reports what it cannot answer to a caller (pino-compatible). */
export interface SqlStoreLog {
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/** The driver's own handle, for the few hot statements that Kysely would slow down. */
export type NativeHandle =
  | { dialect: 'sqlite'; db: SqliteDatabase.Database }
  | { dialect: 'postgres'; pool: pg.Pool };

export interface SqlDatabase {
  readonly dialect: SqlDialectName;
  readonly db: Kysely<Database>;
  readonly native: NativeHandle;
  /**
   * Runs `work` in one write transaction and commits it. SQLite: BEGIN IMMEDIATE (the write lock is taken
   * first, so reads inside see the latest state even with several processes on one file). PostgreSQL: BEGIN
   * (read committed; lock rows explicitly). Rolls back and rejects with the raw error on failure.
   */
  writeTransaction<T>(work: (trx: Kysely<Database>) => Promise<T>): Promise<T>;
  destroy(): Promise<void>;
}

export function connectDatabase(target: DatabaseTarget, log: SqlStoreLog, metrics?: Metrics): SqlDatabase {
  const database = target.dialect === 'sqlite' ? connectSqlite(target.filename, metrics) : connectPostgres(target.url, log, metrics);
  return metrics ? timed(database, metrics) : database;
}

/** Kysely's query events -> natter_db_query_seconds{kind="query"}. */
const queryTimer = (metrics: Metrics | undefined) =>
  metrics &&
  ((event: LogEvent) => metrics.observe('dbQuery', event.queryDurationMillis / 1000, { kind: 'query', outcome: event.level === 'error' ? 'error' : 'ok' }));

/** `run`, timed as one transaction (a group commit) -> natter_db_query_seconds{kind="transaction"}. */
export function timedTransaction<A, T>(metrics: Metrics | undefined, run: (arg: A) => Promise<T>): (arg: A) => Promise<T> {
  if (!metrics) return run;
  return async (arg) => {
    const done = metrics.startTimer('dbQuery', { kind: 'transaction' });
    try {
      const result = await run(arg);
      done({ outcome: 'ok' });
      return result;
    } catch (error) {
      done({ outcome: 'error' });
      throw error;
    }
  };
}

/** Times every write transaction. */
function timed(database: SqlDatabase, metrics: Metrics): SqlDatabase {
  return { ...database, writeTransaction: timedTransaction(metrics, database.writeTransaction.bind(database)) };
}

function connectSqlite(filename: string, metrics?: Metrics): SqlDatabase {
  const raw = openSqlite(filename);
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: withStatementCache(raw) }), log: queryTimer(metrics) });
  return {
    dialect: 'sqlite',
    db,
    native: { dialect: 'sqlite', db: raw },
    // Kysely's SQLite driver has one connection behind a mutex: holding it serializes writers in this process.
    writeTransaction: (work) =>
      db.connection().execute(async (conn) => {
        await sql`begin immediate`.execute(conn);
        try {
          const result = await work(conn);
          await sql`commit`.execute(conn);
          return result;
        } catch (error) {
          rollbackQuietly(raw);
          throw error;
        }
      }),
    destroy: () => db.destroy(),
  };
}

const INT8_OID = 20;

/** Per-pool type parsers: int8 (bigint: seqs, epoch ms) as JS numbers. The global pg parsers stay untouched. */
const pgTypes = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8_OID && format !== 'binary'
      ? (value: string) => Number(value)
      : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
};

function connectPostgres(url: string, log: SqlStoreLog, metrics?: Metrics): SqlDatabase {
  const pool = new pg.Pool({
    connectionString: url,
    types: pgTypes,
    max: 10,
    connectionTimeoutMillis: 5_000,
    idleTimeoutMillis: 30_000,
    keepAlive: true,
    application_name: 'natter',
  });
  let closing = false;
  // An idle connection that dies (server restart, network) is reported here; unhandled, it would crash.
  pool.on('error', (err) => {
    if (!closing) log.error({ err: loggableError(err) }, 'PostgreSQL idle connection failed');
  });
  // A checked-out connection has no pool listener: without one, its death would crash the process. What it
  // failed surfaces as the rejection of the query in flight or the next one, so nothing is logged twice here.
  pool.on('connect', (client) => {
    client.on('error', () => undefined);
  });
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }), log: queryTimer(metrics) });
  metrics?.gauge('dbPool', () => [
    { labels: { state: 'total' }, value: pool.totalCount },
    { labels: { state: 'idle' }, value: pool.idleCount },
    { labels: { state: 'waiting' }, value: pool.waitingCount },
  ]);
  return {
    dialect: 'postgres',
    db,
    native: { dialect: 'postgres', pool },
    writeTransaction: (work) => db.transaction().execute(work),
    destroy: () => {
      closing = true;
      return db.destroy();
    },
  };
}
