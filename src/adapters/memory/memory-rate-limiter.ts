import type { RateDecision, RateLimiter, RateRule } from '../../core/ports.js';

interface Bucket {
  tokens: number;
  at: number;
  /** When the bucket will be full again (it can then be forgotten: a missing bucket is a full one). */
  fullAt: number;
}

/** Same arithmetic in the Redis script: refill since `at`, then take `cost` if that many are left. */
export function refill(bucket: { tokens: number; at: number } | undefined, rule: RateRule, now: number): number {
  if (!bucket) return rule.capacity;
  return Math.min(rule.capacity, bucket.tokens + (Math.max(0, now - bucket.at) / 1000) * rule.perSecond);
}

/**
 * Token buckets in this process's memory (one instance, or tests). Memory stays bounded: buckets that are full
 * again are swept once the map grows past `sweepAbove`, and the map never holds more than `maxBuckets`
 * (the oldest are dropped, which can only make a limit more lenient for a moment, never stricter).
 */
export class MemoryRateLimiter implements RateLimiter {
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    private readonly clock: { now(): number } = { now: () => Date.now() },
    private readonly sweepAbove = 10_000,
    private readonly maxBuckets = 200_000,
  ) {}

  get size(): number {
    return this.buckets.size;
  }

  async take(key: string, rule: RateRule, cost = 1): Promise<RateDecision> {
    const now = this.clock.now();
    const tokens = refill(this.buckets.get(key), rule, now);
    const need = Math.max(cost, 1);
    if (tokens < need) {
      return { allowed: false, remaining: Math.floor(tokens), retryAfterMs: Math.ceil(((need - tokens) / rule.perSecond) * 1000) };
    }
    const left = tokens - cost;
    this.buckets.delete(key); // re-insert: Map order is then least recently used first
    this.buckets.set(key, { tokens: left, at: now, fullAt: now + ((rule.capacity - left) / rule.perSecond) * 1000 });
    if (this.buckets.size > this.sweepAbove) this.sweep(now);
    return { allowed: true, remaining: Math.floor(left), retryAfterMs: 0 };
  }

  async close(): Promise<void> {
    this.buckets.clear();
  }

  private sweep(now: number): void {
    for (const [key, bucket] of this.buckets) if (bucket.fullAt <= now) this.buckets.delete(key);
    for (const key of this.buckets.keys()) {
      if (this.buckets.size <= this.maxBuckets) break;
      this.buckets.delete(key);
    }
  }
}
