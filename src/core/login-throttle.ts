/**
 * Login throttling for one key (an account, a client address). The first `rule.capacity` failures within the window
 * (capacity ÷ perSecond: 10 in 15 min by default) cost nothing but a token; beyond them every further failure
 * doubles the wait before the next attempt (90 s, 180 s, 360 s, … never more than the window) and it all drains
 * with time: an attacker slows down exponentially, the owner always gets an attempt at least once per window.
 */
import { ChatError } from './errors.js';
import type { RateDecision, RateLimiter, RateRule } from './ports.js';

export const rateLimited = (d: RateDecision): ChatError =>
  new ChatError('RATE_LIMITED', `too many failed attempts; retry in ${Math.ceil(d.retryAfterMs / 1000)} s`, { cause: { retryAfterMs: d.retryAfterMs } });

/** Failures remembered beyond the free ones, as a multiple of the free allowance. */
const STRIKE_FACTOR = 3;

export class LoginThrottle {
  private readonly windowS: number;
  private readonly strikes: RateRule;

  constructor(
    private readonly limiter: RateLimiter,
    private readonly rule: RateRule,
  ) {
    this.windowS = rule.capacity / rule.perSecond;
    // Strikes drain one per window: slower than the longest delay, so the delay keeps growing while attacks go on,
    // and shrinks again (one step per window) once they stop.
    this.strikes = { capacity: rule.capacity * STRIKE_FACTOR, perSecond: 1 / this.windowS };
  }

  /** Throws RATE_LIMITED, with the full wait (the longest of the two limits), when `key` may not try now. */
  async check(key: string): Promise<void> {
    const free = await this.limiter.take(key, this.rule, 0);
    const over = await this.overLimit(key);
    const waited = over === 0 ? free : await this.limiter.take(`${key}:delay`, this.delay(over), 0);
    if (!free.allowed || !waited.allowed) {
      throw rateLimited(free.retryAfterMs >= waited.retryAfterMs ? free : waited);
    }
  }

  /** Records a failed attempt for `key`. */
  async fail(key: string): Promise<void> {
    const over = await this.overLimit(key);
    await Promise.all([
      this.limiter.take(key, this.rule, 1),
      this.limiter.take(`${key}:strikes`, this.strikes, 1),
      this.limiter.take(`${key}:delay`, this.delay(over + 1), 1),
    ]);
  }

  /** How many recent failures went beyond the free allowance. */
  private async overLimit(key: string): Promise<number> {
    const left = await this.limiter.take(`${key}:strikes`, this.strikes, 0);
    return Math.max(0, this.strikes.capacity - left.remaining - this.rule.capacity);
  }

  /** One attempt per delay; the delay doubles with each failure beyond the allowance, up to the window. */
  private delay(over: number): RateRule {
    const seconds = Math.min(this.windowS, (1 / this.rule.perSecond) * 2 ** Math.max(0, over - 1));
    return { capacity: 1, perSecond: 1 / seconds };
  }
}
