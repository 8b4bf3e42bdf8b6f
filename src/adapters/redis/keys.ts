/**
 * Every Redis key and channel natter uses, in one place. `{…}` is a Redis Cluster hash tag: everything about one
 * room lives in that room's slot, so its scripts and its sharded channel stay on one shard.
 */
export class RedisKeys {
  constructor(readonly prefix: string) {}

  /** Pub/Sub channel of a room (the seed's chat_room:{room}). */
  roomChannel(room: string): string {
    return `${this.prefix}chat_room:{${room}}`;
  }

  /** Canary channel of one instance, for the readiness round trip. */
  canaryChannel(instanceId: string): string {
    return `${this.prefix}canary:{${instanceId}}`;
  }

  /** Sorted set (all scores 0) of `userId|username|sessionKey`: lexicographic ranges count a user's sessions. */
  presenceMembers(room: string): string {
    return `${this.prefix}presence:{${room}}:members`;
  }

  /** Sorted set of the same members scored by lease expiry (epoch ms). */
  presenceLeases(room: string): string {
    return `${this.prefix}presence:{${room}}:leases`;
  }

  /** The one control channel of the deployment (revocations, kicks, bans), subscribed by every instance at start. */
  controlChannel(): string {
    return `${this.prefix}control`;
  }

  /** Token bucket of a rate limit (a hash: tokens, ts); the hash tag keeps it in one slot. */
  rateBucket(key: string): string {
    return `${this.prefix}rate:{${key}}`;
  }
}
