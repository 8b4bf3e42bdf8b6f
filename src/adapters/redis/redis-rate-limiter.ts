/**
 * Token buckets in Redis, shared by every instance: one hash per key (tokens, ts), updated atomically by one Lua
 * script using the server's clock (TIME), so instances with skewed clocks agree. Each bucket key carries a hash tag
 * (one key per script call), so it works on a cluster. Keys expire once the bucket would be full again.
 * While Redis is unreachable the limits fall back to this process's own buckets (per-instance limits) rather than
 * refusing everything: an outage of the hint layer must not stop chat.
 */
import type { RateDecision, RateLimiter, RateRule } from '../../core/ports.js';
import type { Logger } from '../../core/deps.js';
import { MemoryRateLimiter } from '../memory/memory-rate-limiter.js';
import { RedisKeys } from './keys.js';
import type { RedisHandles } from './redis-connection.js';

// KEYS: bucket. ARGV: capacity, perSecond, cost. Answers { allowed (0/1), remaining*1000, retryAfterMs }.
const TAKE = `
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
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
tokens = tokens - cost
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil((capacity - tokens) / rate * 1000) + 1000)
return { 1, math.floor(tokens * 1000), 0 }`;

export class RedisRateLimiter implements RateLimiter {
  private readonly keys: RedisKeys;
  private readonly fallback = new MemoryRateLimiter();
  private degraded = false;

  constructor(
    private readonly redis: RedisHandles,
    prefix: string,
    private readonly log?: Logger,
  ) {
    this.keys = new RedisKeys(prefix);
  }

  async take(key: string, rule: RateRule, cost = 1): Promise<RateDecision> {
    let answer: unknown;
    try {
      answer = await this.redis.eval(TAKE, [this.keys.rateBucket(key)], [String(rule.capacity), String(rule.perSecond), String(cost)]);
    } catch (err) {
      if (!this.degraded) this.log?.warn({ err: (err as Error).message }, 'rate limits: redis unreachable; per-instance limits meanwhile');
      this.degraded = true;
      return this.fallback.take(key, rule, cost);
    }
    this.degraded = false;
    const [allowed, remaining, retryAfterMs] = answer as [number, number, number];
    return { allowed: allowed === 1, remaining: Math.floor(remaining / 1000), retryAfterMs };
  }

  /** The connections belong to the broker, which closes them. */
  async close(): Promise<void> {
    await this.fallback.close();
  }
}
