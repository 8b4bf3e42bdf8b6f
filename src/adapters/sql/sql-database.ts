/**
 * The SQL database entry point: URL → dialect, connect, migrate, and `openSqlStore`, which answers a ready store.
 */
import { Migrator, type Kysely } from 'kysely';
import { ChatError } from '../../core/errors.js';
import type { Metrics } from '../../core/metrics.js';
import { migrationProvider } from './migrations/index.js';
import type { Database } from './schema.js';
import { connectDatabase, type DatabaseTarget, type SqlDatabase, type SqlStoreLog } from './sql-connection.js';
import { SqlStore } from './sql-store.js';
import type { SqlMessageStoreOptions } from './sql-message-store.js';

export type { DatabaseTarget, SqlStoreLog } from './sql-connection.js';
export { SqlStore } from './sql-store.js';

const URL_FORMS = 'sqlite:<path>, sqlite::memory:, postgres://… or postgresql://…';

/**
 * Reads a database URL: `sqlite:<path>` (`sqlite:///abs/path` also works), `sqlite::memory:`,
 * `postgres://…` / `postgresql://…`. Throws on anything else; the message never repeats the URL (it may hold a
 * password).
 */
export function parseDatabaseUrl(url: string): DatabaseTarget {
  if (url.startsWith('sqlite:')) {
    let filename = url.slice('sqlite:'.length);
    if (filename.startsWith('//')) filename = filename.slice(2);
    if (filename === '') throw new Error(`The database URL has no SQLite path; expected ${URL_FORMS}.`);
    return { dialect: 'sqlite', filename };
  }
  if (/^postgres(ql)?:\/\//.test(url)) return { dialect: 'postgres', url };
  throw new Error(`Unsupported database URL; expected ${URL_FORMS}.`);
}

/** Applies every pending migration; throws the migration error when one fails. */
export async function migrateToLatest(db: Kysely<Database>): Promise<void> {
  const { error } = await new Migrator({ db, provider: migrationProvider }).migrateToLatest();
  if (error) throw error;
}

export interface OpenSqlStoreOptions {
  /** `sqlite:<path>`, `sqlite::memory:`, `postgres://…` or `postgresql://…`. */
  url: string;
  log?: SqlStoreLog;
  /** Query and transaction timings, pool gauges (PostgreSQL). */
  metrics?: Metrics;
  /**
   * For a SQLite file: whether appends commit on the writer thread, and the WAL is checkpointed on a thread of its
   * own (default true, true); for every database, the least interval between group commits (default 0) and the
   * most appends per commit (default 500).
   */
  appends?: Pick<SqlMessageStoreOptions, 'writerThread' | 'checkpointerThread' | 'commitIntervalMs' | 'maxBatch'>;
}

const consoleLog: SqlStoreLog = {
  warn: (obj, msg) => console.warn(msg, obj),
  error: (obj, msg) => console.error(msg, obj),
};

/**
 * Connects to the database named by `url`, applies pending migrations and answers the store. Throws a plain
 * Error for a malformed URL, ChatError UNAVAILABLE when the database cannot be opened or migrated.
 */
export async function openSqlStore(options: OpenSqlStoreOptions): Promise<SqlStore> {
  const target = parseDatabaseUrl(options.url);
  const log = options.log ?? consoleLog;
  let database: SqlDatabase;
  try {
    database = connectDatabase(target, log, options.metrics);
  } catch (error) {
    throw new ChatError('UNAVAILABLE', `Cannot open the ${target.dialect} database.`, { cause: error });
  }
  try {
    await migrateToLatest(database.db);
  } catch (error) {
    await database.destroy().catch(() => undefined);
    throw new ChatError('UNAVAILABLE', `Cannot migrate the ${target.dialect} database.`, { cause: error });
  }
  return new SqlStore(database, log, { ...options.appends, metrics: options.metrics });
}
