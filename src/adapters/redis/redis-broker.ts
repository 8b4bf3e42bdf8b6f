/**
 * Broker over Redis Pub/Sub (sharded Pub/Sub on a cluster): one channel per room, subscribed while this
 * instance has local members in it. At-most-once like Redis itself; the core heals gaps from the store.
 * A canary round trip through this instance's own channel proves the subscriber is alive (readiness).
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from '../../core/deps.js';
import type { Broker, ControlEvent, Envelope } from '../../core/ports.js';
import type { RoomId } from '../../core/types.js';
import { RedisKeys } from './keys.js';
import { redisUnavailable, type RedisHandles } from './redis-connection.js';
import { parseControl, parseEnvelope } from './envelope.js';

export interface RedisBrokerStats {
  published: number;
  received: number;
  malformed: number;
  publishFailures: number;
}

const CANARY_EVERY_MS = 1_000;

export class RedisBroker implements Broker {
  readonly stats: RedisBrokerStats = { published: 0, received: 0, malformed: 0, publishFailures: 0 };
  private handler: ((envelope: Envelope) => void) | undefined;
  private controlHandler: ((event: ControlEvent) => void) | undefined;
  private readonly restoredHandlers: Array<() => void> = [];
  private readonly canaryWaiters = new Map<string, () => void>();
  private readonly canaryChannel: string;
  private canaryTimer: NodeJS.Timeout | undefined;
  private lastCanaryOk = 0;
  private canaryMisses = 0;
  private outage = false;

  private constructor(
    private readonly redis: RedisHandles,
    private readonly keys: RedisKeys,
    private readonly log: Logger,
    instanceId: string,
  ) {
    this.canaryChannel = keys.canaryChannel(instanceId);
    redis.onSubscriberRestored(() => {
      for (const h of this.restoredHandlers) h();
    });
  }

  static async start(redis: RedisHandles, prefix: string, log: Logger, instanceId: string): Promise<RedisBroker> {
    const broker = new RedisBroker(redis, new RedisKeys(prefix), log, instanceId);
    await redis.subscribe(broker.canaryChannel, broker.onCanary);
    await redis.subscribe(broker.keys.controlChannel(), broker.onControlMessage);
    broker.canaryTimer = setInterval(() => void broker.watch(), CANARY_EVERY_MS);
    broker.canaryTimer.unref();
    return broker;
  }

  async publish(room: RoomId, envelope: Envelope): Promise<void> {
    try {
      await this.redis.publish(this.keys.roomChannel(room), JSON.stringify(envelope));
      this.stats.published++;
      if (this.outage) {
        this.outage = false;
        this.log.info({}, 'redis publish recovered');
      }
    } catch (err) {
      this.stats.publishFailures++;
      if (!this.outage) {
        this.outage = true;
        this.log.warn({ err: (err as Error).message }, 'redis publish failing; deliveries will be healed from the store');
      }
      redisUnavailable(err);
    }
  }

  subscribe(room: RoomId): Promise<void> {
    return this.redis.subscribe(this.keys.roomChannel(room), this.onMessage).catch(redisUnavailable);
  }

  unsubscribe(room: RoomId): Promise<void> {
    return this.redis.unsubscribe(this.keys.roomChannel(room), this.onMessage).catch(redisUnavailable);
  }

  onEnvelope(handler: (envelope: Envelope) => void): void {
    if (this.handler) throw new Error('RedisBroker: onEnvelope may be called once');
    this.handler = handler;
  }

  /** On the deployment's one control channel (sharded Pub/Sub on a cluster: one slot, one shard). */
  async publishControl(event: ControlEvent): Promise<void> {
    try {
      await this.redis.publish(this.keys.controlChannel(), JSON.stringify(event));
    } catch (err) {
      redisUnavailable(err);
    }
  }

  onControl(handler: (event: ControlEvent) => void): void {
    if (this.controlHandler) throw new Error('RedisBroker: onControl may be called once');
    this.controlHandler = handler;
  }

  onRestored(handler: () => void): void {
    this.restoredHandlers.push(handler);
  }

  /** Resolves when a canary published now comes back through the subscriber within `timeoutMs`. */
  async probe(timeoutMs: number): Promise<void> {
    const nonce = randomBytes(6).toString('base64url');
    const back = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.canaryWaiters.delete(nonce);
        reject(new Error('broker canary timed out'));
      }, timeoutMs);
      this.canaryWaiters.set(nonce, () => {
        clearTimeout(timer);
        resolve();
      });
    });
    this.redis.publish(this.canaryChannel, nonce).catch(() => undefined);
    await back;
    this.lastCanaryOk = Date.now();
  }

  /** The canary, every second: three misses in a row mean the command connection is wedged — replace it. */
  private async watch(): Promise<void> {
    try {
      await this.probe(CANARY_EVERY_MS);
      this.canaryMisses = 0;
    } catch {
      if (++this.canaryMisses >= 3) {
        this.canaryMisses = 0;
        this.redis.recycleCommands();
      }
    }
  }

  /** Milliseconds since the last successful canary round trip. */
  get sinceLastCanary(): number {
    return this.lastCanaryOk === 0 ? Number.POSITIVE_INFINITY : Date.now() - this.lastCanaryOk;
  }

  async close(): Promise<void> {
    clearInterval(this.canaryTimer);
    await this.redis.quit();
  }

  private readonly onCanary = (nonce: string) => {
    this.canaryWaiters.get(nonce)?.();
    this.canaryWaiters.delete(nonce);
  };

  private readonly onControlMessage = (raw: string) => {
    const event = parseControl(raw);
    if (!event) {
      this.stats.malformed++;
      this.log.warn({ bytes: raw.length }, 'malformed control event from redis ignored');
      return;
    }
    this.controlHandler?.(event);
  };

  private readonly onMessage = (raw: string) => {
    const envelope = parseEnvelope(raw);
    if (!envelope) {
      this.stats.malformed++;
      this.log.warn({ bytes: raw.length }, 'malformed envelope from redis ignored');
      return;
    }
    this.stats.received++;
    this.handler?.(envelope);
  };
}
