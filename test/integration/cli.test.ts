/**
 * The `natter` CLI as a child process: help on every command, exit codes, and each command's effect seen through a
 * real server on the same database (tokens work, rooms exist, passwords change, revoke closes sockets).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COMMANDS } from '../../src/cli/commands.js';
import { CLOSE_CODES } from '../../src/protocol/errors.js';
import { redisAvailable, TEST_REDIS_URL, uniquePrefix, deletePrefix } from '../support/redis.js';
import { startServer, TEST_JWT_SECRET, type TestServer } from '../support/server.js';
import { TestClient } from '../support/ws-client.js';

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

const dir = mkdtempSync(join(tmpdir(), 'natter-cli-'));
const baseEnv = { DATABASE_URL: `sqlite:${join(dir, 'natter.db')}`, JWT_SECRET: TEST_JWT_SECRET, DATA_DIR: dir, LOG_LEVEL: 'warn' };

function natter(args: string[], options: { stdin?: string; env?: Record<string, string> } = {}): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], {
      env: { PATH: process.env.PATH ?? '', ...baseEnv, ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdin.end(options.stdin ?? '');
    const timer = setTimeout(() => (child.kill('SIGKILL'), reject(new Error(`natter ${args.join(' ')} did not finish in 90 s`))), 90_000);
    child.once('exit', (code) => (clearTimeout(timer), resolve({ code, stdout, stderr })));
  });
}

const PASSWORD = 'a long enough passphrase';
const haveRedis = await redisAvailable();
if (!haveRedis && process.env.REQUIRE_SERVICES === '1') throw new Error('REQUIRE_SERVICES=1 but Redis is not reachable');
if (!haveRedis) console.warn('[natter tests] SKIPPING the CLI revoke test: Redis not reachable');
let server: TestServer;

beforeAll(async () => {
  const migrated = await natter(['migrate']);
  expect(migrated.code, migrated.stderr).toBe(0);
  expect(migrated.stdout).toMatch(/applied 0001_init/);
  server = await startServer({ DATABASE_URL: baseEnv.DATABASE_URL });
}, 120_000);
afterAll(async () => {
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

const login = (username: string, password: string) =>
  fetch(`${server.baseUrl}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username, password }) });

describe('natter CLI: help and errors', () => {
  it('lists every command with --help, and each command has its own --help', async () => {
    const top = await natter(['--help']);
    expect(top.code).toBe(0);
    for (const c of COMMANDS) expect(top.stdout).toContain(c.name);
    for (const c of COMMANDS) {
      const h = await natter([...c.name.split(' '), '--help']);
      expect(h.code, c.name).toBe(0);
      expect(h.stdout).toContain(`Usage: natter ${c.name}`);
    }
  }, 120_000);

  it('answers usage errors with 64 and a message on stderr', async () => {
    const results = await Promise.all([natter([]), natter(['frobnicate']), natter(['user', 'nope']), natter(['room', 'create', 'x']), natter(['token', 'issue', 'a', '--bogus'])]);
    for (const r of results) expect(r.code).toBe(64);
    expect(results[1]!.stderr).toMatch(/unknown command "frobnicate"/);
    expect(results[3]!.stderr).toMatch(/--owner <username> is required/);
    expect(results[4]!.stderr).toMatch(/Unknown option '--bogus'/);
  }, 120_000);

  it('reports invalid configuration with 78 and an unreachable database with 69', async () => {
    const config = await natter(['migrate'], { env: { JWT_SECRET: 'short' } });
    expect(config.code).toBe(78);
    expect(config.stderr).toMatch(/JWT_SECRET must be at least 32 bytes/);
    const down = await natter(['migrate'], { env: { DATABASE_URL: 'postgres://natter:secret-pw@127.0.0.1:1/natter' } });
    expect(down.code).toBe(69);
    expect(down.stderr).not.toContain('secret-pw');
  }, 120_000);
});

describe('natter serve', () => {
  it('listens, logs JSON, and on SIGTERM drains and exits 0', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'serve', '--port', '0', '--host', '127.0.0.1'], {
      env: { PATH: process.env.PATH ?? '', ...baseEnv, LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const lines: string[] = [];
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const address = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`serve did not start: ${lines.join('\n')}`)), 60_000);
      createInterface({ input: child.stdout }).on('line', (line) => {
        lines.push(line);
        if (line.includes('natter listening')) (clearTimeout(timer), resolve((JSON.parse(line) as { address: string }).address));
      });
      void exited.then(() => reject(new Error(`serve exited: ${lines.join('\n')}`)));
    });
    expect((await fetch(`${address}/readyz`)).status).toBe(200);
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(lines.some((l) => l.includes('"msg":"shutdown complete"'))).toBe(true);
  }, 120_000);
});

describe('natter CLI: users, rooms, tokens', () => {
  it('creates a user (password from stdin), refuses a duplicate (65), and the user can log in', async () => {
    const created = await natter(['user', 'create', 'cli-ana', '--password-stdin'], { stdin: `${PASSWORD}\n` });
    expect(created.code, created.stderr).toBe(0);
    expect(created.stdout).toMatch(/created user cli-ana/);
    expect(created.stderr).toMatch(/hashing the password/);
    expect((await login('cli-ana', PASSWORD)).status).toBe(200);
    const again = await natter(['user', 'create', 'cli-ana', '--password-stdin'], { stdin: PASSWORD });
    expect(again.code).toBe(65);
    expect(again.stderr).toMatch(/USERNAME_TAKEN/);
    const weak = await natter(['user', 'create', 'cli-weak', '--password-stdin'], { stdin: 'short' });
    expect(weak.code).toBe(65);
  }, 120_000);

  it('generates a password when none is piped in, and set-password changes it', async () => {
    const created = await natter(['user', 'create', 'cli-ben', '--json']);
    expect(created.code, created.stderr).toBe(0);
    const { password } = JSON.parse(created.stdout) as { password: string };
    expect(password.length).toBeGreaterThanOrEqual(20);
    expect((await login('cli-ben', password)).status).toBe(200);
    const changed = await natter(['user', 'set-password', 'cli-ben', '--password-stdin'], { stdin: PASSWORD });
    expect(changed.code, changed.stderr).toBe(0);
    expect((await login('cli-ben', password)).status).toBe(401);
    expect((await login('cli-ben', PASSWORD)).status).toBe(200);
    expect((await natter(['user', 'set-password', 'nobody-here'])).code).toBe(65);
  }, 120_000);

  it('creates a room with an owner, and issues a token with the asked expiry that the server accepts', async () => {
    await natter(['user', 'create', 'cli-cat', '--password-stdin'], { stdin: PASSWORD });
    const room = await natter(['room', 'create', 'cli-lobby', '--owner', 'cli-cat', '--private', '--json']);
    expect(room.code, room.stderr).toBe(0);
    const { id } = JSON.parse(room.stdout) as { id: string };
    const issued = await natter(['token', 'issue', 'cli-cat', '--expires-in', '2h', '--json']);
    expect(issued.code, issued.stderr).toBe(0);
    const token = JSON.parse(issued.stdout) as { token: string; expires_at: string };
    expect(Math.abs(Date.parse(token.expires_at) - (Date.now() + 7_200_000))).toBeLessThan(60_000);
    const rooms = (await (await fetch(`${server.baseUrl}/api/rooms`, { headers: { authorization: `Bearer ${token.token}` } })).json()) as { rooms: Array<{ id: string; visibility: string }> };
    expect(rooms.rooms).toContainEqual(expect.objectContaining({ id, visibility: 'private' }));
    const client = await TestClient.connect(server.wsUrl, token.token);
    expect((await client.call('room.join', { room: id })).room).toBe(id);
    await client.close();
    expect((await natter(['token', 'issue', 'cli-cat', '--expires-in', 'soon'])).code).toBe(64);
    expect((await natter(['token', 'issue', 'nobody-here'])).code).toBe(65);
  }, 120_000);

  it.skipIf(!haveRedis)('user revoke refuses the user\'s tokens and, with Redis, closes their sockets on a running server', async () => {
    const prefix = uniquePrefix();
    const shared = await startServer({ DATABASE_URL: baseEnv.DATABASE_URL, REDIS_URL: TEST_REDIS_URL, REDIS_PREFIX: prefix });
    try {
      await natter(['user', 'create', 'cli-dan', '--password-stdin'], { stdin: PASSWORD });
      const { token } = JSON.parse((await natter(['token', 'issue', 'cli-dan', '--json'])).stdout) as { token: string };
      const client = await TestClient.connect(shared.wsUrl, token);
      const started = Date.now();
      const revoked = await natter(['user', 'revoke', 'cli-dan'], { env: { REDIS_URL: TEST_REDIS_URL, REDIS_PREFIX: prefix } });
      expect(revoked.code, revoked.stderr).toBe(0);
      const closed = await client.closed;
      expect(closed.code).toBe(CLOSE_CODES.SESSION_REVOKED.code);
      expect(Date.now() - started).toBeLessThan(20_000);
      const me = await fetch(`${shared.baseUrl}/api/me`, { headers: { authorization: `Bearer ${token}` } });
      expect(me.status).toBe(401);
      expect((await natter(['user', 'revoke', 'nobody-here'])).code).toBe(65);
    } finally {
      await shared.close();
      await deletePrefix(prefix);
    }
  }, 150_000);
});
