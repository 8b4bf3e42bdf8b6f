/** Which database a migration runs on: migrations that differ by dialect branch on this. */
import { PostgresAdapter, type Kysely } from 'kysely';

export const isPostgres = (db: Kysely<unknown>): boolean => db.getExecutor().adapter instanceof PostgresAdapter;
