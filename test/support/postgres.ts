/**
 * PostgreSQL for tests: a fresh database per suite (or per test) on the server named by TEST_DATABASE_URL
 * (default postgres://postgres@127.0.0.1:5432/postgres), dropped afterwards. Never touches other databases.
 *
 * Unreachable server: with REQUIRE_SERVICES=1 (CI) the suite FAILS; otherwise it is skipped loudly.
 *
 *   const pg = await probePostgres();
 *   describeWithPostgres(pg, 'my suite', (database) => {
 *     it('works', async () => { const url = database().url; … });
 *   });
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, it } from 'vitest';

export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const servicesRequired = (): boolean => process.env.REQUIRE_SERVICES === '1';

export interface PostgresProbe {
  available: boolean;
  /** Why it is unavailable (no password in it). */
  reason?: string;
}

export interface TestDatabase {
  name: string;
  url: string;
  /** DROP DATABASE … WITH (FORCE). Idempotent. */
  drop(): Promise<void>;
}

/** The admin URL with its password hidden, for messages. */
export function redactedUrl(url: string = TEST_DATABASE_URL): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(unparseable TEST_DATABASE_URL)';
  }
}

async function withAdminClient<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL, connectionTimeoutMillis: 3_000 });
  client.on('error', () => undefined); // a dropped admin connection surfaces through the query that needed it
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

let probe: Promise<PostgresProbe> | undefined;

/** Whether the PostgreSQL server answers (asked once per test file). Never throws. */
export function probePostgres(): Promise<PostgresProbe> {
  probe ??= withAdminClient((client) => client.query('select 1')).then(
    (): PostgresProbe => ({ available: true }),
    (error: unknown): PostgresProbe => ({
      available: false,
      reason: `PostgreSQL at ${redactedUrl()} is unreachable: ${error instanceof Error ? error.message : String(error)}`,
    }),
  );
  return probe;
}

/** Creates an empty database `natter_test_<random>` and answers its URL and how to drop it. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `natter_test_${randomBytes(6).toString('hex')}`;
  await withAdminClient((client) => client.query(`create database "${name}"`));
  const url = new URL(TEST_DATABASE_URL);
  url.pathname = `/${name}`;
  let dropped: Promise<void> | undefined;
  return {
    name,
    url: url.toString(),
    drop: () =>
      (dropped ??= withAdminClient(async (client) => {
        await client.query(`drop database if exists "${name}" with (force)`);
      })),
  };
}

/**
 * A describe block that gets a fresh database for its whole run (created before its first test, dropped after
 * its last). When PostgreSQL is unreachable: fails under REQUIRE_SERVICES=1, else warns and skips.
 */
export function describeWithPostgres(
  probed: PostgresProbe,
  title: string,
  body: (database: () => TestDatabase) => void,
): void {
  if (!probed.available && servicesRequired()) {
    describe(title, () => {
      it('needs PostgreSQL (REQUIRE_SERVICES=1)', () => {
        throw new Error(probed.reason);
      });
    });
    return;
  }
  if (!probed.available) {
    console.warn(`\n⚠️  SKIPPING "${title}": ${probed.reason}. Set REQUIRE_SERVICES=1 to make this a failure.\n`);
  }
  describe.skipIf(!probed.available)(title, () => {
    let database: TestDatabase | undefined;
    beforeAll(async () => {
      database = await createTestDatabase();
    });
    afterAll(async () => {
      await database?.drop();
    });
    body(() => {
      if (!database) throw new Error('The test database is not created yet (use it inside tests or hooks).');
      return database;
    });
  });
}
