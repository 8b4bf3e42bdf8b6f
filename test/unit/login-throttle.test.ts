import { describe, expect, it } from 'vitest';
import { MemoryRateLimiter } from '../../src/adapters/memory/memory-rate-limiter.js';
import { LoginThrottle } from '../../src/core/login-throttle.js';
import { isChatError } from '../../src/core/errors.js';
import { retryAfterMs } from '../../src/core/accounts.js';

function setup() {
  let now = 1_700_000_000_000;
  const limiter = new MemoryRateLimiter({ now: () => now });
  const throttle = new LoginThrottle(limiter, { capacity: 10, perSecond: 10 / 900 });
  /** Tries now; answers the wait in ms when refused. */
  const attempt = async (key: string): Promise<number> => {
    try {
      await throttle.check(key);
      return 0;
    } catch (err) {
      if (!isChatError(err) || err.code !== 'RATE_LIMITED') throw err;
      return retryAfterMs(err)!;
    }
  };
  return { throttle, attempt, advance: (ms: number) => (now += ms), now: () => now };
}

describe('login throttle (A8)', () => {
  it('lets 10 failures through, then doubles the wait with each further failure, capped at the window', async () => {
    const t = setup();
    for (let i = 0; i < 10; i++) {
      expect(await t.attempt('login:user:ana')).toBe(0);
      await t.throttle.fail('login:user:ana');
    }
    // An attacker who retries the moment he is allowed: the gaps between his attempts.
    const gaps: number[] = [];
    let last = t.now();
    for (let i = 0; i < 9; i++) {
      for (let waits = 0; ; waits++) {
        const wait = await t.attempt('login:user:ana');
        if (wait === 0) break;
        expect(waits).toBeLessThan(5);
        t.advance(wait);
      }
      gaps.push(Math.round((t.now() - last) / 1000));
      last = t.now();
      await t.throttle.fail('login:user:ana');
    }
    expect(gaps.slice(0, 5)).toEqual([90, 90, 180, 360, 720]);
    for (const gap of gaps.slice(5)) {
      expect(gap).toBeGreaterThanOrEqual(720); // strikes drain one per window while he waits: the delay plateaus
      expect(gap).toBeLessThanOrEqual(900); // and never exceeds the window
    }
    // Another account (and address) is untouched.
    expect(await t.attempt('login:user:ben')).toBe(0);
  });

  it('never locks out: after the attacks stop, an attempt is always allowed within the window', async () => {
    const t = setup();
    for (let i = 0; i < 30; i++) {
      while ((await t.attempt('k')) > 0) t.advance(await t.attempt('k'));
      await t.throttle.fail('k');
    }
    const wait = await t.attempt('k');
    expect(wait).toBeGreaterThan(0);
    expect(wait).toBeLessThanOrEqual(900_000);
    t.advance(wait);
    expect(await t.attempt('k')).toBe(0);
  });
});
