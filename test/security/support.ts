/** Helpers for the security tests: raw upgrades, latency sampling, figures. */
import { request as httpRequest } from 'node:http';
import { TestClient } from '../support/ws-client.js';

/** Sends an upgrade request and answers the HTTP status (101 when the server upgraded). */
export function upgradeStatus(wsUrl: string, headers: Record<string, string> = {}): Promise<number> {
  const url = new URL(wsUrl.replace(/^ws/, 'http'));
  return new Promise((resolve, reject) => {
    const req = httpRequest({
      host: url.hostname,
      port: url.port,
      path: url.pathname + url.search,
      headers: {
        connection: 'Upgrade',
        upgrade: 'websocket',
        'sec-websocket-version': '13',
        'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
        ...headers,
      },
    });
    req.on('upgrade', (res, socket) => {
      socket.destroy();
      resolve(res.statusCode ?? 0);
    });
    req.on('response', (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}

/** Round trips of `ping` on a healthy client while `during` runs: p50/p99 in ms. */
export async function latencyDuring<T>(client: TestClient, during: () => Promise<T>): Promise<{ result: T; p50: number; p99: number; samples: number }> {
  const samples: number[] = [];
  let stop = false;
  const sampler = (async () => {
    while (!stop) {
      const t0 = performance.now();
      await client.call('ping');
      samples.push(performance.now() - t0);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  })();
  try {
    const result = await during();
    return { result, ...percentiles(samples), samples: samples.length };
  } finally {
    stop = true;
    await sampler;
  }
}

export function percentiles(values: number[]): { p50: number; p99: number } {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => (sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!);
  return { p50: Math.round(at(0.5) * 10) / 10, p99: Math.round(at(0.99) * 10) / 10 };
}

/** Prints one abuse-test figure line (collected in CI output). */
export function figure(name: string, fields: Record<string, unknown>): void {
  console.log(`[abuse] ${name}: ${Object.entries(fields).map(([k, v]) => `${k}=${String(v)}`).join(' ')}`);
}

/** Waits (bounded) until `test` holds. */
export async function eventually(test: () => boolean | Promise<boolean>, ms = 5_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await test())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
