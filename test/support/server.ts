/** Starts a real natter (composition root, real port) for a test, on SQLite in memory unless told otherwise. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config.js';
import { createNatter, type Natter, type NatterOverrides } from '../../src/natter.js';

export const TEST_JWT_SECRET = 'test-secret-test-secret-test-secret-0123456789';

/**
 * Limits high enough that functional tests (hundreds of messages per second from one user, many sockets from
 * 127.0.0.1) never meet them; security tests set the real defaults or tighter ones explicitly.
 */
export const LOOSE_LIMITS: Record<string, string> = {
  WS_MAX_CONNECTIONS_PER_IP: '100000',
  WS_MAX_CONNECTIONS_PER_USER: '10000',
  WS_CONNECT_BURST: '100000',
  WS_CONNECTS_PER_SECOND: '100000',
  MESSAGE_RATE_BURST: '1000000',
  MESSAGE_RATE_PER_SECOND: '1000000',
  TYPING_RATE_BURST: '100000',
  TYPING_RATE_PER_SECOND: '100000',
  AUTH_RATE_BURST: '100000',
  AUTH_RATE_PER_SECOND: '100000',
};

export interface TestServer {
  natter: Natter;
  baseUrl: string;
  wsUrl: string;
  dataDir: string;
  close(): Promise<void>;
}

export async function startServer(env: Record<string, string> = {}, overrides: NatterOverrides = {}): Promise<TestServer> {
  const dataDir = mkdtempSync(join(tmpdir(), 'natter-test-'));
  const config = loadConfig({
    NODE_ENV: 'test',
    DATA_DIR: dataDir,
    DATABASE_URL: 'sqlite::memory:',
    JWT_SECRET: TEST_JWT_SECRET,
    LOG_LEVEL: 'silent',
    ...LOOSE_LIMITS,
    ...env,
  });
  const natter = await createNatter(config, overrides);
  const address = await natter.app.listen({ host: '127.0.0.1', port: 0 });
  return {
    natter,
    baseUrl: address,
    wsUrl: `${address.replace(/^http/, 'ws')}/ws`,
    dataDir,
    async close() {
      await natter.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

let userCounter = 0;
export const uniqueName = (prefix = 'user') => `${prefix}${process.pid}x${++userCounter}`;

export const PASSWORD = 'correct horse battery staple';

export interface TestUser {
  id: string;
  username: string;
  accessToken: string;
  refreshToken: string;
}

/** Registers a user through the real HTTP API. */
export async function register(server: TestServer, username = uniqueName()): Promise<TestUser> {
  const res = await fetch(`${server.baseUrl}/api/auth/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password: PASSWORD }),
  });
  if (res.status !== 201) throw new Error(`register failed: ${res.status} ${await res.text()}`);
  const body = (await res.json()) as { access_token: string; refresh_token: string; user: { id: string; username: string } };
  return { id: body.user.id, username: body.user.username, accessToken: body.access_token, refreshToken: body.refresh_token };
}

export async function api<T = unknown>(server: TestServer, method: string, path: string, token?: string, body?: unknown): Promise<{ status: number; body: T }> {
  const res = await fetch(`${server.baseUrl}${path}`, {
    method,
    headers: {
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T };
}

export async function createRoom(server: TestServer, user: TestUser, name = uniqueName('room'), visibility: 'public' | 'private' = 'public'): Promise<string> {
  const res = await api<{ id: string }>(server, 'POST', '/api/rooms', user.accessToken, { name, visibility });
  if (res.status !== 201) throw new Error(`create room failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.id;
}
