/** The CLI's commands: each with its options (node:util parseArgs), help text and run function. */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadConfig, readEnv, type Config } from '../config.js';
import { ChatError } from '../core/errors.js';
import type { Logger } from '../core/deps.js';
import { asUserId, type Principal } from '../core/types.js';
import { checkPassword, checkUsername } from '../core/validate.js';
import type { CliContext } from './context.js';
import { EXIT, note, out, parseDuration, readStdin, UsageError } from './io.js';

// Drivers, pino and Fastify load only when a command needs them, so `natter … --help` answers at once.

export interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
  description: string;
  valueName?: string;
}

export interface CommandInput {
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
  raw: string[];
}

export interface Command {
  name: string;
  args?: string;
  summary: string;
  details?: string;
  options?: Record<string, OptionSpec>;
  /** Unknown options are passed on (bench). */
  passThrough?: boolean;
  run(input: CommandInput): Promise<number>;
}

const PACKAGE_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const MAX_TOKEN_TTL_S = 365 * 86_400;

const json = { type: 'boolean', description: 'print the result as JSON' } as const;
const passwordStdin = { type: 'boolean', description: 'read the password from stdin (otherwise one is generated and printed)' } as const;

async function cliLogger(config: Config): Promise<Logger> {
  const { createLogger } = await import('../logger.js');
  const level = config.logLevel === 'debug' || config.logLevel === 'trace' || config.logLevel === 'silent' ? config.logLevel : 'warn';
  return createLogger({ logLevel: level, logFormat: config.logFormat }, process.stderr);
}

function one(input: CommandInput, what: string): string {
  const [value, ...extra] = input.positionals;
  if (value === undefined) throw new UsageError(`missing ${what}`);
  if (extra.length > 0) throw new UsageError(`unexpected argument "${extra[0]}"`);
  return value;
}

async function withContext<T>(work: (ctx: CliContext) => Promise<T>): Promise<T> {
  const config = loadConfig();
  const { openContext } = await import('./context.js');
  const ctx = await openContext(config, await cliLogger(config));
  try {
    return await work(ctx);
  } finally {
    await ctx.close();
  }
}

async function principalOf(ctx: CliContext, username: string): Promise<Principal> {
  const user = await ctx.store.findUserByName(username);
  if (!user) throw new ChatError('USER_NOT_FOUND', `no user named "${username}"`);
  return { userId: user.id, username: user.username };
}

/** The password from stdin, or a generated one (printed once, to stdout). */
async function passwordFrom(input: CommandInput): Promise<{ password: string; generated: boolean }> {
  if (input.values['password-stdin']) return { password: checkPassword(await readStdin()), generated: false };
  return { password: randomBytes(18).toString('base64url'), generated: true };
}

const serveCommand: Command = {
  name: 'serve',
  summary: 'run the server (HTTP API, WebSocket, web app) until SIGTERM/SIGINT',
  details: 'SIGTERM or SIGINT drains gracefully: /readyz answers 503, new upgrades get 503, clients are asked to\nreconnect elsewhere (close 4010) over SHUTDOWN_DRAIN_MS, then the process exits within SHUTDOWN_TIMEOUT_MS.',
  options: {
    port: { type: 'string', short: 'p', description: 'port to listen on (overrides PORT)', valueName: 'port' },
    host: { type: 'string', description: 'interface to bind (overrides HOST)', valueName: 'address' },
  },
  async run(input) {
    if (input.positionals.length > 0) throw new UsageError(`unexpected argument "${input.positionals[0]}"`);
    const env = readEnv();
    if (typeof input.values.port === 'string') env.PORT = input.values.port;
    if (typeof input.values.host === 'string') env.HOST = input.values.host;
    const config = loadConfig(env);
    const { serve } = await import('../serve.js');
    await serve(config);
    return EXIT.running;
  },
};

const migrateCommand: Command = {
  name: 'migrate',
  summary: 'apply pending database migrations (the server also does this when it starts)',
  details: 'Safe to run while older instances serve: migrations only add. Several instances starting at once\nare serialised by a lock in the database.',
  options: { json },
  async run(input) {
    if (input.positionals.length > 0) throw new UsageError(`unexpected argument "${input.positionals[0]}"`);
    const config = loadConfig();
    const [{ Migrator }, { migrationProvider }, { connectDatabase }, { parseDatabaseUrl }] = await Promise.all([
      import('kysely'),
      import('../adapters/sql/migrations/index.js'),
      import('../adapters/sql/sql-connection.js'),
      import('../adapters/sql/sql-database.js'),
    ]);
    const target = parseDatabaseUrl(config.databaseUrl);
    if (!input.values.json) note(`migrating the ${target.dialect} database…`);
    let database;
    try {
      database = connectDatabase(target, await cliLogger(config));
    } catch (cause) {
      throw new ChatError('UNAVAILABLE', `cannot open the ${target.dialect} database`, { cause });
    }
    try {
      const { error, results = [] } = await new Migrator({ db: database.db, provider: migrationProvider }).migrateToLatest();
      const applied = results.filter((r) => r.status === 'Success').map((r) => r.migrationName);
      if (error) {
        const failed = results.find((r) => r.status === 'Error')?.migrationName;
        throw new ChatError('UNAVAILABLE', `migration ${failed ?? ''} failed: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
      }
      const total = Object.keys(await migrationProvider.getMigrations()).length;
      if (input.values.json) out(JSON.stringify({ dialect: target.dialect, applied, total }));
      else {
        for (const name of applied) out(`applied ${name}`);
        out(applied.length === 0 ? `up to date (${total} migrations)` : `done: ${applied.length} applied, ${total} in all`);
      }
      return EXIT.ok;
    } finally {
      await database.destroy();
    }
  },
};

const userCreate: Command = {
  name: 'user create',
  args: '<username>',
  summary: 'create an account',
  details: 'Without --password-stdin a random password is generated and printed once.\nExample: printf %s "$PASSWORD" | natter user create ana --password-stdin',
  options: { 'password-stdin': passwordStdin, json },
  async run(input) {
    const username = checkUsername(one(input, '<username>'));
    const { password, generated } = await passwordFrom(input);
    return withContext(async (ctx) => {
      if (!input.values.json) note('hashing the password (argon2id)…');
      const passwordHash = await ctx.deps.hasher.hash(password);
      const user = { id: asUserId(ctx.deps.ids.next()), username, createdAt: Date.now() };
      await ctx.store.createUser({ ...user, passwordHash });
      if (input.values.json) out(JSON.stringify({ id: user.id, username, ...(generated ? { password } : {}) }));
      else {
        out(`created user ${username} (id ${user.id})`);
        if (generated) out(`password: ${password}`);
      }
      return EXIT.ok;
    });
  },
};

const userSetPassword: Command = {
  name: 'user set-password',
  args: '<username>',
  summary: "set a user's password; every token of the user is revoked and their sockets close",
  options: { 'password-stdin': passwordStdin, json },
  async run(input) {
    const username = one(input, '<username>');
    const { password, generated } = await passwordFrom(input);
    return withContext(async (ctx) => {
      const user = await principalOf(ctx, username);
      if (!input.values.json) note('hashing the password (argon2id)…');
      await ctx.store.setPasswordHash(user.userId, await ctx.deps.hasher.hash(password));
      await ctx.accounts.revokeUser(user.userId);
      if (input.values.json) out(JSON.stringify({ id: user.userId, username: user.username, ...(generated ? { password } : {}) }));
      else {
        out(`password of ${user.username} changed; their sessions are revoked`);
        if (generated) out(`password: ${password}`);
      }
      if (!ctx.sharedBroker) note('note: no REDIS_URL; a running server closes their open sockets at the next token check');
      return EXIT.ok;
    });
  },
};

const userRevoke: Command = {
  name: 'user revoke',
  args: '<username>',
  summary: "revoke every token of a user and close the user's sockets on every instance",
  details:
    'Refresh tokens are revoked and access tokens issued until now are refused. With REDIS_URL set the open\nsockets close on every instance within a second; on a single node without Redis use\nPOST /api/admin/users/<username>/revoke (ADMIN_TOKEN) to close them at once.',
  options: { json },
  async run(input) {
    const username = one(input, '<username>');
    return withContext(async (ctx) => {
      const userId = await ctx.accounts.revokeUsername(username);
      if (input.values.json) out(JSON.stringify({ id: userId, username, revoked: true, sockets_closed_everywhere: ctx.sharedBroker }));
      else out(`revoked ${username} (id ${userId})${ctx.sharedBroker ? '; their sockets are closing on every instance' : ''}`);
      if (!ctx.sharedBroker) note('note: no REDIS_URL; a running server closes their open sockets at the next token check');
      return EXIT.ok;
    });
  },
};

const roomCreate: Command = {
  name: 'room create',
  args: '<name>',
  summary: 'create a room owned by a user',
  options: {
    owner: { type: 'string', short: 'o', description: 'username of the owner (required)', valueName: 'username' },
    private: { type: 'boolean', description: 'members only (default: public)' },
    json,
  },
  async run(input) {
    const name = one(input, '<name>');
    if (typeof input.values.owner !== 'string') throw new UsageError('--owner <username> is required');
    const owner = input.values.owner;
    return withContext(async (ctx) => {
      const room = await ctx.rooms.create(await principalOf(ctx, owner), name, input.values.private ? 'private' : 'public');
      if (input.values.json) out(JSON.stringify({ id: room.id, name: room.name, visibility: room.visibility, owner }));
      else out(`created ${room.visibility} room ${room.name} (id ${room.id}), owner ${owner}`);
      return EXIT.ok;
    });
  },
};

const tokenIssue: Command = {
  name: 'token issue',
  args: '<username>',
  summary: 'issue an access token for a bot or service, with an expiry',
  details: 'The token authenticates HTTP (Authorization: Bearer) and WebSocket (auth frame) like a login token.\n`natter user revoke <username>` invalidates it. Example: natter token issue deploy-bot --expires-in 30d',
  options: {
    'expires-in': { type: 'string', short: 'e', description: 'lifetime: seconds or 15m, 12h, 30d (default ACCESS_TOKEN_TTL_SECONDS; max 365d)', valueName: 'duration' },
    json,
  },
  async run(input) {
    const username = one(input, '<username>');
    const ttl = typeof input.values['expires-in'] === 'string' ? parseDuration(input.values['expires-in']) : undefined;
    if (ttl !== undefined && (ttl < 30 || ttl > MAX_TOKEN_TTL_S)) throw new UsageError('--expires-in must be from 30s to 365d');
    return withContext(async (ctx) => {
      const principal = await principalOf(ctx, username);
      const issued = await ctx.tokens(ttl ?? ctx.config.accessTokenTtlSeconds).issue(principal);
      const expiresAt = new Date(issued.expiresAt).toISOString();
      if (input.values.json) out(JSON.stringify({ token: issued.token, token_type: 'Bearer', user: { id: principal.userId, username }, expires_at: expiresAt }));
      else {
        note(`access token for ${username}, valid until ${expiresAt}:`);
        out(issued.token);
      }
      return EXIT.ok;
    });
  },
};

const benchCommand: Command = {
  name: 'bench',
  args: '[bench options…]',
  summary: 'run the benchmark (npm run bench; needs a source checkout with dev dependencies)',
  details: 'Everything after `bench` is passed on: natter bench -- --help shows the benchmark\'s own options.',
  passThrough: true,
  async run(input) {
    if (!existsSync(`${PACKAGE_ROOT}bench`)) {
      throw new ChatError('UNAVAILABLE', 'the benchmark scripts are not part of this install (they ship with the source checkout: npm run bench)');
    }
    const args = input.raw[0] === '--' ? input.raw.slice(1) : input.raw;
    note(`running: npm run bench${args.length ? ` -- ${args.join(' ')}` : ''}`);
    return new Promise<number>((resolve) => {
      const child = spawn('npm', ['run', '--silent', 'bench', ...(args.length ? ['--', ...args] : [])], { cwd: PACKAGE_ROOT, stdio: 'inherit' });
      child.once('error', (err) => {
        note(`natter bench: ${err.message}`);
        resolve(EXIT.unavailable);
      });
      child.once('exit', (code, signal) => resolve(code ?? (signal ? 128 + 15 : EXIT.failure)));
    });
  },
};

export const COMMANDS: Command[] = [serveCommand, migrateCommand, userCreate, userSetPassword, userRevoke, roomCreate, tokenIssue, benchCommand];
