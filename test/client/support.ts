/** Helpers for the SDK tests: a natter on a fixed port and file database (restartable), socket killing. The TCP proxy is ../support/tcp-proxy.ts. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import WebSocket from 'ws';
import { NatterClient, type NatterClientOptions } from '../../client/natter-client.js';
import { loadConfig } from '../../src/config.js';
import { createNatter, type Natter } from '../../src/natter.js';
import { LOOSE_LIMITS, TEST_JWT_SECRET } from '../support/server.js';

/** A natter that can be stopped and started again on the same port and SQLite file. */
export class RestartableServer {
  natter: Natter | null = null;
  port = 0;
  private readonly sockets = new Set<Duplex>();
  readonly dataDir = mkdtempSync(join(tmpdir(), 'natter-sdk-'));

  constructor(private readonly env: Record<string, string> = {}) {}

  get baseUrl(): string {
    return `http://127.0.0.1:${this.port}`;
  }
  get wsUrl(): string {
    return `ws://127.0.0.1:${this.port}/ws`;
  }

  async start(): Promise<void> {
    const config = loadConfig({
      NODE_ENV: 'test',
      DATA_DIR: this.dataDir,
      DATABASE_URL: `sqlite:${join(this.dataDir, 'natter.db')}`,
      JWT_SECRET: TEST_JWT_SECRET,
      LOG_LEVEL: 'silent',
      ...LOOSE_LIMITS,
      ...this.env,
    });
    const natter = await createNatter(config);
    natter.app.server.on('upgrade', (_req, socket: Duplex) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
    });
    await natter.app.listen({ host: '127.0.0.1', port: this.port });
    this.port = (natter.app.server.address() as { port: number }).port;
    this.natter = natter;
  }

  /** Cuts every WebSocket's TCP connection without a close frame (a network failure, as the client sees it). */
  killSockets(): number {
    const n = this.sockets.size;
    for (const s of this.sockets) s.destroy();
    return n;
  }

  async stop(): Promise<void> {
    await this.natter?.close();
    this.natter = null;
  }

  async dispose(): Promise<void> {
    await this.stop();
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}

/** A NatterClient on Node 20 (`ws`), with a fast backoff for tests. */
export function makeClient(url: string, token: string | NatterClientOptions['getToken'], extra: Partial<NatterClientOptions> = {}): NatterClient {
  return new NatterClient({
    url,
    WebSocket,
    getToken: typeof token === 'string' ? () => token : token,
    backoff: { baseMs: 50, capMs: 500 },
    ...extra,
  });
}

/** Resolves when `test` is true, checking after every event of the client (and on a short poll), or rejects after `ms`. */
export function until(test: () => boolean, ms = 10_000, what = 'condition'): Promise<void> {
  return new Promise((resolve, reject) => {
    if (test()) return resolve();
    const started = Date.now();
    const poll = setInterval(() => {
      if (test()) {
        clearInterval(poll);
        resolve();
      } else if (Date.now() - started > ms) {
        clearInterval(poll);
        reject(new Error(`timed out waiting for ${what}`));
      }
    }, 10);
  });
}
