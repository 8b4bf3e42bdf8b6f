/**
 * Token buckets in Redis, shared by every instance: one hash per key (tokens, ts), updated atomically by one Lua
 * script using the server's clock (TIME), so instances with skewed clocks agree. Each bucket key carries a hash tag
 * (one key per script call), so it works on a cluster. Keys expire once the bucket would be full again.
 * While Redis is unreachable the limits fall back to this process's own buckets (per-instance limits) rather than
 * refusing everything: an outage of the hint layer must not stop chat.
 *
 * Leases (RateRule.lease, the message and typing limits): a round trip takes up to a tenth of the capacity at once
 * and this instance spends the rest locally for up to LEASE_MS, so a busy sender costs one Redis call per lease
 * instead of one per message (the call waited on every send). Every token spent was granted by the shared bucket,
 * so the limit across instances holds; unspent leased tokens lapse, which can only make a limit stricter. One lease
 * round trip per key is in flight at a time: concurrent takes wait for it rather than each leasing (which would
 * strand tokens on one instance while another is refused); if it fails, they all go to the per-instance buckets at
 * once rather than queueing one Redis attempt each.
 * Buckets smaller than 20 tokens lease nothing (a tenth is under 2): they stay exact.
 */
import type { RateDecision, RateLimiter, RateRule } from '../../core/ports.js';
import type { Logger } from '../../core/deps.js';
import { MemoryRateLimiter } from '../memory/memory-rate-limiter.js';
import { RedisKeys } from './keys.js';
import type { RedisHandles } from './redis-connection.js';

// KEYS: bucket. ARGV: capacity, perSecond, cost, want (≥ cost: take up to this many while at least cost are left).
// Answers { allowed (0/1), remaining*1000, retryAfterMs, taken }.
const TAKE = `
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local want = tonumber(ARGV[4])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = capacity
if state[1] then
  tokens = math.min(capacity, tonumber(state[1]) + math.max(0, now - tonumber(state[2])) / 1000 * rate)
end
local need = math.max(cost, 1)
if tokens < need then
  return { 0, math.floor(tokens * 1000), math.ceil((need - tokens) / rate * 1000) }
end
local taken = cost
if want > cost then taken = math.max(cost, math.min(want, math.floor(tokens))) end
tokens = tokens - taken
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil((capacity - tokens) / rate * 1000) + 1000)
return { 1, math.floor(tokens * 1000), 0, taken }`;

/** How long leased tokens may be spent locally. */
export const LEASE_MS = 1_000;
/** Beyond this many keys, lapsed leases are swept (at most once per LEASE_MS). */
const SWEEP_LEASES_ABOVE = 10_000;

/** Tokens this instance took from a shared bucket and has not spent yet. */
interface Lease {
  tokens: number;
  /** What the shared bucket had left when the lease was taken (for `remaining`). */
  bucketLeft: number;
  until: number;
}

/** Tokens one round trip asks for: a tenth of the capacity, when that is more than one message's worth. */
const leaseSize = (rule: RateRule, cost: number): number => (rule.lease && cost > 0 ? Math.max(cost, Math.floor(rule.capacity / 10)) : cost);

export class RedisRateLimiter implements RateLimiter {
  private readonly keys: RedisKeys;
  private readonly fallback = new MemoryRateLimiter();
  private readonly leases = new Map<string, Lease>();
  /** The lease round trip in flight per key. */
  private readonly fetching = new Map<string, Promise<RateDecision | undefined>>();
  private degraded = false;
  private sweptAt = 0;

  constructor(
    private readonly redis: RedisHandles,
    prefix: string,
    private readonly log?: Logger,
    private readonly now: () => number = Date.now,
  ) {
    this.keys = new RedisKeys(prefix);
  }

  async take(key: string, rule: RateRule, cost = 1): Promise<RateDecision> {
    const want = leaseSize(rule, cost);
    if (want > cost) {
      // One lease round trip per key at a time: concurrent takes wait for it and spend what it brought.
      for (;;) {
        const spent = this.spendLease(key, cost);
        if (spent) return spent;
        const inFlight = this.fetching.get(key);
        if (!inFlight) break;
        const fetched = await inFlight;
        if (fetched?.allowed) continue; // granted: spend its lease, or lease again
        // The shared bucket has just refused (so it would now), or Redis just failed (do not queue another attempt).
        return this.spendLease(key, cost) ?? fetched ?? this.fallback.take(key, rule, cost);
      }
    }
    let answer = this.fetch(key, rule, cost, want);
    if (want > cost) {
      const settled = answer.finally(() => {
        if (this.fetching.get(key) === settled) this.fetching.delete(key);
      });
      this.fetching.set(key, settled);
      answer = settled;
    }
    return (await answer) ?? this.fallback.take(key, rule, cost);
  }

  /** One round trip: `cost` tokens for this take and up to `want - cost` more as a lease; undefined if Redis failed. */
  private async fetch(key: string, rule: RateRule, cost: number, want: number): Promise<RateDecision | undefined> {
    let answer: unknown;
    try {
      answer = await this.redis.eval(TAKE, [this.keys.rateBucket(key)], [String(rule.capacity), String(rule.perSecond), String(cost), String(want)]);
    } catch (err) {
      if (!this.degraded) this.log?.warn({ err: (err as Error).message }, 'rate limits: redis unreachable; per-instance limits meanwhile');
      this.degraded = true;
      return undefined;
    }
    this.degraded = false;
    const [allowed, remaining, retryAfterMs, taken] = answer as [number, number, number, number];
    const bucketLeft = Math.floor(remaining / 1000);
    if (allowed !== 1) return { allowed: false, remaining: bucketLeft, retryAfterMs };
    if (taken > cost) return { allowed: true, remaining: bucketLeft + this.addLease(key, taken - cost, bucketLeft), retryAfterMs: 0 };
    return { allowed: true, remaining: bucketLeft, retryAfterMs: 0 };
  }

  /** Spends `cost` leased tokens when this instance holds that many, unlapsed. */
  private spendLease(key: string, cost: number): RateDecision | undefined {
    const lease = this.leases.get(key);
    if (!lease) return undefined;
    if (lease.until <= this.now()) {
      this.leases.delete(key);
      return undefined;
    }
    if (lease.tokens < cost) return undefined;
    lease.tokens -= cost;
    if (lease.tokens === 0) this.leases.delete(key);
    return { allowed: true, remaining: lease.bucketLeft + lease.tokens, retryAfterMs: 0 };
  }

  /** Keeps `tokens` more for this key; answers what this instance now holds. */
  private addLease(key: string, tokens: number, bucketLeft: number): number {
    const now = this.now();
    const held = this.leases.get(key);
    const lease = held && held.until > now ? held : { tokens: 0, bucketLeft, until: 0 };
    lease.tokens += tokens;
    lease.bucketLeft = bucketLeft;
    lease.until = now + LEASE_MS;
    this.leases.set(key, lease);
    if (this.leases.size > SWEEP_LEASES_ABOVE && now - this.sweptAt >= LEASE_MS) {
      this.sweptAt = now;
      for (const [k, l] of this.leases) if (l.until <= now) this.leases.delete(k);
    }
    return lease.tokens;
  }

  /** The connections belong to the broker, which closes them. */
  async close(): Promise<void> {
    this.leases.clear();
    await this.fallback.close();
  }
}
