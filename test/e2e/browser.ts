/** E2E support: Debian's chromium through playwright-core, a natter child process on a fixed port and file DB. */
import { execSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startNatterProcess, type NatterProcess } from '../support/process.js';
import { TEST_JWT_SECRET } from '../support/server.js';

export const CHROMIUM = spawnSync('sh', ['-c', 'command -v chromium'], { encoding: 'utf8' }).stdout.trim() || null;
export const SHOTS = 'test-output';

if (!CHROMIUM) {
  const message = 'chromium not found: the browser end-to-end tests are SKIPPED (apt-get install -y chromium)';
  if (process.env.REQUIRE_SERVICES === '1') throw new Error(`${message}; REQUIRE_SERVICES=1 makes this a failure`);
  console.warn(`\n⚠️  ${message}\n`);
}

export function launch(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM!,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic', '--no-first-run', '--disable-component-update', '--disable-sync'],
  });
}

/** Builds web/dist from the current sources (about a second), so the browser never tests a stale build. */
export function ensureWebBuild(): void {
  // vitest sets NODE_ENV=test, which would make Vite build a development bundle.
  execSync('npm run build:web', { stdio: 'inherit', env: { ...process.env, NODE_ENV: 'production' } });
  if (!existsSync('web/dist/index.html')) throw new Error('web build produced no web/dist/index.html');
  mkdirSync(SHOTS, { recursive: true });
}

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** natter as a real process; `restart()` stops it (SIGTERM) and starts it again on the same port and database. */
export class NatterUnderTest {
  proc: NatterProcess | null = null;
  readonly dataDir = mkdtempSync(join(tmpdir(), 'natter-e2e-'));
  constructor(readonly port: number) {}

  get baseUrl(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    this.proc = await startNatterProcess({
      PORT: String(this.port),
      DATA_DIR: this.dataDir,
      DATABASE_URL: `sqlite:${join(this.dataDir, 'natter.db')}`,
      JWT_SECRET: TEST_JWT_SECRET,
      LOG_LEVEL: 'info', // startNatterProcess waits for the "natter listening" line
    });
  }

  async stop(): Promise<void> {
    if (!this.proc) return;
    this.proc.child.kill('SIGTERM');
    await this.proc.exited;
    this.proc = null;
  }
}

/** Watches a page for dialogs (none must open) and console errors (CSP violations, exceptions). */
export function watch(page: Page): { dialogs: string[]; errors: string[] } {
  const seen = { dialogs: [] as string[], errors: [] as string[] };
  page.on('dialog', (d) => {
    seen.dialogs.push(d.message());
    void d.dismiss();
  });
  page.on('console', (m) => m.type() === 'error' && !/WebSocket|ERR_CONNECTION_REFUSED|Failed to load resource/.test(m.text()) && seen.errors.push(m.text()));
  page.on('pageerror', (e) => seen.errors.push(e.message));
  return seen;
}
