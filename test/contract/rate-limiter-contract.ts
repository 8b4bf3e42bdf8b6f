/** One contract for every RateLimiter adapter: token-bucket arithmetic, isolation by key, sharing between instances. */
import { describe, expect, it } from 'vitest';
import type { RateLimiter } from '../../src/core/ports.js';

export interface LimiterPair {
  /** Two instances sharing the medium (for the in-process limiter: the same object). */
  a: RateLimiter;
  b: RateLimiter;
  cleanup(): Promise<void>;
}

let n = 0;
const key = (name: string) => `${name}:${process.pid}:${++n}:${Math.random().toString(36).slice(2, 8)}`;

export function runRateLimiterContract(name: string, make: () => Promise<LimiterPair>): void {
  describe(`RateLimiter contract: ${name}`, () => {
    it('allows the burst, then refuses with a retry delay that matches the refill rate', async () => {
      const { a, cleanup } = await make();
      try {
        const k = key('burst');
        const rule = { capacity: 5, perSecond: 1 };
        const decisions = [];
        for (let i = 0; i < 7; i++) decisions.push(await a.take(k, rule));
        expect(decisions.map((d) => d.allowed)).toEqual([true, true, true, true, true, false, false]);
        expect(decisions[4]!.remaining).toBe(0);
        const refused = decisions[5]!;
        expect(refused.retryAfterMs).toBeGreaterThan(0);
        expect(refused.retryAfterMs).toBeLessThanOrEqual(1_000);
      } finally {
        await cleanup();
      }
    });

    it('refills over time', async () => {
      const { a, cleanup } = await make();
      try {
        const k = key('refill');
        const rule = { capacity: 2, perSecond: 20 }; // one token every 50 ms
        expect((await a.take(k, rule)).allowed).toBe(true);
        expect((await a.take(k, rule)).allowed).toBe(true);
        const refused = await a.take(k, rule);
        expect(refused.allowed).toBe(false);
        await new Promise((resolve) => setTimeout(resolve, refused.retryAfterMs + 30));
        expect((await a.take(k, rule)).allowed).toBe(true);
      } finally {
        await cleanup();
      }
    });

    it('cost 0 only checks; a larger cost takes that many', async () => {
      const { a, cleanup } = await make();
      try {
        const k = key('cost');
        const rule = { capacity: 3, perSecond: 0.001 };
        expect(await a.take(k, rule, 0)).toMatchObject({ allowed: true, remaining: 3 });
        expect(await a.take(k, rule, 2)).toMatchObject({ allowed: true, remaining: 1 });
        expect((await a.take(k, rule, 2)).allowed).toBe(false);
        expect(await a.take(k, rule, 0)).toMatchObject({ allowed: true, remaining: 1 });
        expect(await a.take(k, rule, 1)).toMatchObject({ allowed: true, remaining: 0 });
        expect((await a.take(k, rule, 0)).allowed).toBe(false);
      } finally {
        await cleanup();
      }
    });

    it('keeps keys apart and shares a key between instances', async () => {
      const { a, b, cleanup } = await make();
      try {
        const [k1, k2] = [key('one'), key('two')];
        const rule = { capacity: 4, perSecond: 0.001 };
        for (let i = 0; i < 2; i++) {
          expect((await a.take(k1, rule)).allowed).toBe(true);
          expect((await b.take(k1, rule)).allowed).toBe(true);
        }
        expect((await a.take(k1, rule)).allowed).toBe(false);
        expect((await b.take(k1, rule)).allowed).toBe(false);
        expect((await b.take(k2, rule)).allowed).toBe(true);
      } finally {
        await cleanup();
      }
    });

    it('is atomic under concurrency: exactly capacity of 100 parallel takes win', async () => {
      const { a, b, cleanup } = await make();
      try {
        const k = key('race');
        const rule = { capacity: 25, perSecond: 0.001 };
        const all = await Promise.all(Array.from({ length: 100 }, (_, i) => (i % 2 ? a : b).take(k, rule)));
        expect(all.filter((d) => d.allowed)).toHaveLength(25);
      } finally {
        await cleanup();
      }
    });
  });
}
