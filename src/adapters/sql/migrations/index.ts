/** The migrations, in order, provided in code (no filesystem scan: works the same from src/ and dist/). */
import type { Migration, MigrationProvider } from 'kysely';
import * as m0001 from './0001_init.js';
import * as m0002 from './0002_revocation_bans.js';
import * as m0003 from './0003_pg_append_function.js';
import * as m0004 from './0004_idempotency_key_order.js';
import * as m0005 from './0005_room_access_rev.js';

const MIGRATIONS: Record<string, Migration> = {
  '0001_init': m0001,
  '0002_revocation_bans': m0002,
  '0003_pg_append_function': m0003,
  '0004_idempotency_key_order': m0004,
  '0005_room_access_rev': m0005,
};

export const migrationProvider: MigrationProvider = {
  getMigrations: async () => MIGRATIONS,
};
