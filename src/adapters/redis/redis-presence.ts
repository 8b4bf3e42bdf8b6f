/**
 * Presence in Redis with leases. Each session is a member `userId|username|sessionKey` of two sorted sets per
 * room: one with all scores 0 (a lexicographic range counts one user's sessions in O(log n)) and one scored by
 * lease expiry. This instance renews the leases of its own sessions every `ttl/3`; the sessions of a crashed
 * instance expire and `expire()` turns them into departures (each removed exactly once, by one instance).
 */
import type { Presence } from '../../core/ports.js';
import { asUserId, type Principal, type RoomId, type SessionId, type UserId } from '../../core/types.js';
import type { Logger } from '../../core/deps.js';
import { RedisKeys } from './keys.js';
import { redisUnavailable, type RedisHandles } from './redis-connection.js';

// KEYS: members, leases. ARGV: member, userPrefix, userEnd, expiresAt, keyTtlMs. Answers the user's session count.
const ADD = `
redis.call('ZADD', KEYS[1], 0, ARGV[1])
redis.call('ZADD', KEYS[2], ARGV[4], ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
redis.call('PEXPIRE', KEYS[2], ARGV[5])
return redis.call('ZLEXCOUNT', KEYS[1], ARGV[2], ARGV[3])`;

// KEYS: members, leases. ARGV: member, userPrefix, userEnd. Answers 1 when that was the user's last session.
const REMOVE = `
local removed = redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
if removed == 1 and redis.call('ZLEXCOUNT', KEYS[1], ARGV[2], ARGV[3]) == 0 then return 1 end
return 0`;

// KEYS: members, leases. ARGV: now. Removes expired sessions; answers the members whose user thereby left.
const EXPIRE = `
local expired = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[1])
local left = {}
for _, member in ipairs(expired) do
  redis.call('ZREM', KEYS[2], member)
  if redis.call('ZREM', KEYS[1], member) == 1 then
    local uid = string.match(member, '^[^|]+')
    if redis.call('ZLEXCOUNT', KEYS[1], '[' .. uid .. '|', '(' .. uid .. '}') == 0 then table.insert(left, member) end
  end
end
return left`;

// KEYS: members, leases. ARGV: expiresAt, keyTtlMs, members... Renews only members still present (XX).
const RENEW = `
for i = 3, #ARGV do redis.call('ZADD', KEYS[2], 'XX', ARGV[1], ARGV[i]) end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
redis.call('PEXPIRE', KEYS[2], ARGV[2])
return 0`;

export interface RedisPresenceOptions {
  prefix: string;
  instanceId: string;
  /** Lease length: a crashed instance's sessions are gone within this (plus one sweep). */
  leaseMs: number;
  log: Logger;
  clock?: { now(): number };
}

const memberOf = (user: Principal, sessionKey: string) => `${user.userId}|${user.username}|${sessionKey}`;
const userRange = (userId: string) => [`[${userId}|`, `(${userId}}`] as const;

function parseMember(member: string): Principal {
  const [userId, username] = member.split('|');
  return { userId: asUserId(userId ?? ''), username: username ?? '' };
}

export class RedisPresence implements Presence {
  private readonly keys: RedisKeys;
  private readonly local = new Map<RoomId, Map<SessionId, string>>();
  private readonly timer: NodeJS.Timeout;
  private readonly now: () => number;

  constructor(
    private readonly redis: RedisHandles,
    private readonly options: RedisPresenceOptions,
  ) {
    this.keys = new RedisKeys(options.prefix);
    this.now = () => (options.clock ?? Date).now();
    this.timer = setInterval(() => void this.renew(), Math.max(100, Math.floor(options.leaseMs / 3)));
    this.timer.unref();
  }

  async add(room: RoomId, user: Principal, session: SessionId): Promise<boolean> {
    const member = memberOf(user, `${this.options.instanceId}.${session}`);
    let sessions = this.local.get(room);
    if (!sessions) this.local.set(room, (sessions = new Map()));
    sessions.set(session, member);
    const [from, to] = userRange(user.userId);
    const count = await this.redis.eval(ADD, this.roomKeys(room), [member, from, to, String(this.expiry()), String(this.keyTtl())]).catch(redisUnavailable);
    return Number(count) === 1;
  }

  async remove(room: RoomId, user: UserId, session: SessionId): Promise<boolean> {
    const sessions = this.local.get(room);
    const member = sessions?.get(session);
    if (!sessions || member === undefined) return false;
    sessions.delete(session);
    if (sessions.size === 0) this.local.delete(room);
    const [from, to] = userRange(user);
    return Number(await this.redis.eval(REMOVE, this.roomKeys(room), [member, from, to]).catch(redisUnavailable)) === 1;
  }

  async list(room: RoomId): Promise<Principal[]> {
    const members = (await this.redis
      .eval("return redis.call('ZRANGE', KEYS[1], 0, -1)", [this.keys.presenceMembers(room)], [])
      .catch(redisUnavailable)) as string[];
    const users = new Map<string, Principal>();
    for (const m of members) {
      const p = parseMember(m);
      users.set(p.userId, p);
    }
    return [...users.values()];
  }

  async expire(rooms: RoomId[]): Promise<Array<{ room: RoomId; user: Principal }>> {
    const now = String(this.now());
    const results = await Promise.all(
      rooms.map(async (room) => {
        const left = (await this.redis.eval(EXPIRE, this.roomKeys(room), [now]).catch(redisUnavailable)) as string[];
        return left.map((m) => ({ room, user: parseMember(m) }));
      }),
    );
    return results.flat();
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
  }

  /** Renews this instance's leases, one script per room. Failures are logged: the next round retries. */
  private async renew(): Promise<void> {
    const expiresAt = String(this.expiry());
    const ttl = String(this.keyTtl());
    await Promise.all(
      [...this.local].map(([room, sessions]) =>
        this.redis
          .eval(RENEW, this.roomKeys(room), [expiresAt, ttl, ...sessions.values()])
          .catch((err: unknown) => this.options.log.debug({ err: (err as Error).message, room }, 'presence lease renewal failed')),
      ),
    );
  }

  private roomKeys(room: RoomId): string[] {
    return [this.keys.presenceMembers(room), this.keys.presenceLeases(room)];
  }

  private expiry(): number {
    return this.now() + this.options.leaseMs;
  }

  /** Keys of a room nobody renews vanish after a few leases. */
  private keyTtl(): number {
    return this.options.leaseMs * 4;
  }
}
