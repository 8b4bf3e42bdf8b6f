/** The core on memory adapters with a fake clock: ordering, gap healing, catch-up, presence. */
import { describe, expect, it } from 'vitest';
import { ChatService } from '../../src/core/chat.js';
import { ChatError } from '../../src/core/errors.js';
import type { Logger } from '../../src/core/deps.js';
import { Hub } from '../../src/core/hub.js';
import type { Broker, ControlEvent, Envelope } from '../../src/core/ports.js';
import { RoomService } from '../../src/core/rooms.js';
import type { SessionPort } from '../../src/core/session.js';
import { asSessionId, asUserId, type Principal, type RoomId } from '../../src/core/types.js';
import { MemoryBroker } from '../../src/adapters/memory/memory-broker.js';
import { MemoryPresence } from '../../src/adapters/memory/memory-presence.js';
import { MemoryRateLimiter } from '../../src/adapters/memory/memory-rate-limiter.js';
import { MemoryStore } from '../../src/adapters/memory/memory-store.js';
import type { Push } from '../../src/protocol/frames.js';

const silent: Logger = { debug() {}, info() {}, warn() {}, error() {} };

/** A broker that loses the envelopes a test tells it to (Redis Pub/Sub is at-most-once). */
class LossyBroker implements Broker {
  readonly inner = new MemoryBroker();
  drop: (e: Envelope) => boolean = () => false;
  /** Envelopes kept back (still on their way) until `deliverHeld`. */
  hold: (e: Envelope) => boolean = () => false;
  private held: Array<[RoomId, Envelope]> = [];
  publish(room: RoomId, e: Envelope) {
    if (this.drop(e)) return Promise.resolve();
    if (this.hold(e)) {
      this.held.push([room, e]);
      return Promise.resolve();
    }
    return this.inner.publish(room, e);
  }
  deliverHeld() {
    for (const [room, e] of this.held.splice(0)) void this.inner.publish(room, e);
  }
  subscribe(room: RoomId) {
    return this.inner.subscribe(room);
  }
  unsubscribe(room: RoomId) {
    return this.inner.unsubscribe(room);
  }
  onEnvelope(h: (e: Envelope) => void) {
    this.inner.onEnvelope(h);
  }
  onRestored(h: () => void) {
    this.inner.onRestored(h);
  }
  publishControl(e: ControlEvent) {
    return this.inner.publishControl(e);
  }
  onControl(h: (e: ControlEvent) => void) {
    this.inner.onControl(h);
  }
  probe(ms: number) {
    return this.inner.probe(ms);
  }
  close() {
    return this.inner.close();
  }
}

class FakeSession implements SessionPort {
  readonly frames: Push[] = [];
  private waiters: Array<() => void> = [];
  constructor(
    readonly id: ReturnType<typeof asSessionId>,
    readonly principal: Principal,
  ) {}
  push(frame: Push) {
    this.frames.push(frame);
    for (const w of this.waiters.splice(0)) w();
  }
  async drained() {}
  ended: string[] = [];
  end(reason: 'revoked') {
    this.ended.push(reason);
  }
  seqs(room: string) {
    return this.frames.flatMap((f) => (f.type === 'message' && f.message.room === room ? [f.message.seq] : []));
  }
  async until(test: () => boolean, ms = 2_000) {
    const deadline = Date.now() + ms;
    while (!test()) {
      if (Date.now() > deadline) throw new Error(`timeout; frames: ${JSON.stringify(this.frames.slice(-3))}`);
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 50);
      });
    }
  }
}

/** Counts the store's history reads (gap fills) from now on. */
function countReads(store: MemoryStore): { count: number } {
  const reads = { count: 0 };
  const readAfter = store.readAfter.bind(store);
  store.readAfter = (...args) => {
    reads.count++;
    return readAfter(...args);
  };
  return reads;
}

function setup() {
  let now = Date.UTC(2026, 0, 1);
  const clock = { now: () => now };
  let n = 0;
  const ids = { next: () => `id${++n}` };
  const store = new MemoryStore();
  const broker = new LossyBroker();
  const presence = new MemoryPresence();
  const limits = {
    maxBodyChars: 20,
    historyOnJoin: 3,
    catchUpPage: 4,
    refreshTokenTtlSeconds: 60,
    maxRoomsPerSession: 128,
    messageRate: { capacity: 1_000_000, perSecond: 1_000_000 },
    typingRate: { capacity: 1_000_000, perSecond: 1_000_000 },
    loginFailureRate: { capacity: 10, perSecond: 10 / 900 },
  };
  const rateLimiter = new MemoryRateLimiter(clock);
  const deps = { store, broker, presence, clock, ids, limits, rateLimiter, log: silent };
  const hub = new Hub({ broker, store, log: silent, pageSize: limits.catchUpPage });
  broker.onEnvelope((e) => hub.dispatch(e));
  const rooms = new RoomService(deps);
  const chat = new ChatService(deps, rooms, hub);
  let s = 0;
  const users = new Set<string>();
  const ensureUser = (name: string) => {
    if (users.has(name)) return;
    users.add(name);
    void store.createUser({ id: asUserId(`u-${name}`), username: name, passwordHash: 'x', createdAt: 0 });
  };
  const session = (name: string) => {
    ensureUser(name);
    const port = new FakeSession(asSessionId(`s${++s}`), { userId: asUserId(`u-${name}`), username: name });
    chat.connect(port);
    return port;
  };
  ensureUser('owner');
  const owner = { userId: asUserId('u-owner'), username: 'owner' };
  return { chat, rooms, hub, store, broker, presence, session, owner, advance: (ms: number) => (now += ms), clock };
}

describe('chat core', () => {
  it('stamps server time from the clock and acks with seq', async () => {
    const t = setup();
    const room = await t.rooms.create(t.owner, 'Lobby', 'public');
    const a = t.session('ana');
    const j = await t.chat.join(a.id, room.id);
    j.start();
    t.advance(5_000);
    const ack = await t.chat.send(a.id, room.id, 'hello', 'k1');
    expect(ack).toEqual({ id: expect.any(String), seq: 2, created_at: '2026-01-01T00:00:05.000Z', duplicate: false });
    await a.until(() => a.seqs(room.id).length === 2);
    expect(a.seqs(room.id)).toEqual([1, 2]);
  });

  it('heals a message the broker lost as soon as the next one arrives, once for all sessions', async () => {
    const t = setup();
    const room = await t.rooms.create(t.owner, 'Lossy', 'public');
    const a = t.session('ana');
    const b = t.session('ben');
    for (const s of [a, b]) (await t.chat.join(s.id, room.id)).start();
    await a.until(() => a.seqs(room.id).length === 1);
    await b.until(() => b.seqs(room.id).length === 1);
    t.broker.drop = (e) => e.kind === 'message' && e.message.seq === 3;
    const reads = countReads(t.store);
    for (let i = 0; i < 4; i++) await t.chat.send(a.id, room.id, `m${i}`, `k${i}`);
    await a.until(() => a.seqs(room.id).length === 5);
    await b.until(() => b.seqs(room.id).length === 5);
    expect(a.seqs(room.id)).toEqual([1, 2, 3, 4, 5]);
    expect(b.seqs(room.id)).toEqual([1, 2, 3, 4, 5]);
    expect(reads.count).toBe(1);
  });

  it('a lost last message reaches every session by the second maintenance round although the room stays quiet (D5)', async () => {
    const t = setup();
    const room = await t.rooms.create(t.owner, 'Quiet', 'public');
    const a = t.session('ana');
    const b = t.session('ben');
    for (const s of [a, b]) (await t.chat.join(s.id, room.id)).start();
    await a.until(() => a.seqs(room.id).length === 1);
    await b.until(() => b.seqs(room.id).length === 1);
    t.broker.drop = (e) => e.kind === 'message';
    await t.chat.send(a.id, room.id, 'lost', 'k1');
    await t.chat.send(b.id, room.id, 'lost too', 'k2');
    expect(a.seqs(room.id)).toEqual([1]);
    await t.chat.maintain(); // sees head 3; the messages may still be on their way
    await t.chat.maintain(); // still not here: lost, read from the store
    await a.until(() => a.seqs(room.id).length === 3);
    await b.until(() => b.seqs(room.id).length === 3);
    expect(a.seqs(room.id)).toEqual([1, 2, 3]);
    expect(b.seqs(room.id)).toEqual([1, 2, 3]);
  });

  it('a head check does not read the store for a message still on its way through the broker', async () => {
    const t = setup();
    const room = await t.rooms.create(t.owner, 'Busy', 'public');
    const a = t.session('ana');
    (await t.chat.join(a.id, room.id)).start();
    await a.until(() => a.seqs(room.id).length === 1);
    const reads = countReads(t.store);
    t.broker.hold = (e) => e.kind === 'message';
    await t.chat.send(a.id, room.id, 'on its way', 'k1');
    await t.chat.maintain(); // head 2 is stored and acked, its envelope not delivered yet
    t.broker.deliverHeld();
    await a.until(() => a.seqs(room.id).length === 2);
    await t.chat.maintain();
    expect(a.seqs(room.id)).toEqual([1, 2]);
    expect(reads.count).toBe(0);
  });

  it('replays history after `since` in pages, buffering live messages, then goes live with no gap', async () => {
    const t = setup();
    const room = await t.rooms.create(t.owner, 'Busy', 'public');
    const writer = t.session('wri');
    (await t.chat.join(writer.id, room.id)).start();
    for (let i = 0; i < 10; i++) await t.chat.send(writer.id, room.id, `m${i}`, `k${i}`);
    const reader = t.session('rea');
    const joined = await t.chat.join(reader.id, room.id, 2);
    expect(joined.result).toMatchObject({ head: 11, from: 2 });
    const sending = Promise.all([0, 1, 2].map((i) => t.chat.send(writer.id, room.id, `live${i}`, `l${i}`)));
    joined.start();
    await sending;
    await reader.until(() => reader.seqs(room.id).length === 12);
    expect(reader.seqs(room.id)).toEqual([3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14]);
  });

  it('a join without since replays the last HISTORY_ON_JOIN messages; since beyond head is clamped', async () => {
    const t = setup();
    const room = await t.rooms.create(t.owner, 'Hist', 'public');
    const w = t.session('w');
    (await t.chat.join(w.id, room.id)).start();
    for (let i = 0; i < 5; i++) await t.chat.send(w.id, room.id, `m${i}`, `k${i}`);
    const r = t.session('r');
    const j = await t.chat.join(r.id, room.id);
    expect(j.result.from).toBe(3);
    j.start();
    await r.until(() => r.seqs(room.id).length === 3);
    expect(r.seqs(room.id)).toEqual([4, 5, 6]);
    const r2 = t.session('r2');
    expect((await t.chat.join(r2.id, room.id, 999)).result.from).toBe(6);
  });

  it('tracks presence per user across sessions and empties every map when all leave', async () => {
    const t = setup();
    const room = await t.rooms.create(t.owner, 'Pres', 'public');
    const a1 = t.session('ana');
    const a2 = t.session('ana');
    const b = t.session('ben');
    (await t.chat.join(b.id, room.id)).start();
    (await t.chat.join(a1.id, room.id)).start();
    (await t.chat.join(a2.id, room.id)).start();
    expect((await t.chat.who(b.id, room.id)).map((u) => u.name).sort()).toEqual(['ana', 'ben']);
    await t.chat.disconnect(a1.id);
    expect(await t.chat.who(b.id, room.id)).toHaveLength(2);
    await t.chat.disconnect(a2.id);
    await b.until(() => b.frames.some((f) => f.type === 'presence.left'));
    expect(b.frames.filter((f) => f.type === 'presence.joined').map((f) => (f as { user: { name: string } }).user.name)).toEqual(['ben', 'ana']);
    await t.chat.disconnect(b.id);
    expect(t.hub.roomCount).toBe(0);
    expect(t.presence.size()).toBe(0);
    expect(t.chat.sessionCount).toBe(0);
  });

  it('a join that fails half-way (presence down) leaves nothing subscribed or buffering', async () => {
    const t = setup();
    const room = await t.rooms.create(t.owner, 'Down', 'public');
    const a = t.session('ana');
    t.presence.add = async () => {
      throw new ChatError('UNAVAILABLE', 'presence down');
    };
    await expect(t.chat.join(a.id, room.id)).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    expect(t.hub.roomCount).toBe(0);
    await expect(t.chat.send(a.id, room.id, 'x', 'k')).rejects.toMatchObject({ code: 'NOT_JOINED' });
  });

  it('rejects invalid bodies and unjoined rooms with ChatErrors', async () => {
    const t = setup();
    const room = await t.rooms.create(t.owner, 'Rules', 'public');
    const a = t.session('ana');
    await expect(t.chat.send(a.id, room.id, 'x', 'k')).rejects.toMatchObject({ code: 'NOT_JOINED' });
    (await t.chat.join(a.id, room.id)).start();
    await expect(t.chat.send(a.id, room.id, 'x'.repeat(21), 'k')).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    await expect(t.chat.send(a.id, room.id, '🎉'.repeat(20), 'k')).resolves.toMatchObject({ seq: 2 });
    const priv = await t.rooms.create(t.owner, 'Secret', 'private');
    await expect(t.chat.join(a.id, priv.id)).rejects.toMatchObject({ code: 'ROOM_NOT_FOUND' });
  });

  it('a kick or ban whose control event was lost ends the subscription at the next round, a reader’s too; only moved rooms are checked', async () => {
    const t = setup();
    const room = await t.rooms.create(t.owner, 'Checked', 'private');
    const lobby = await t.rooms.create(t.owner, 'Lobby', 'public');
    const [a, b, c] = [t.session('ana'), t.session('bob'), t.session('cleo')];
    t.session('dan');
    await t.rooms.addMember(t.owner, room.id, 'dan');
    await t.store.removeMember(room.id, asUserId('u-dan')); // the room's revision is 1 before anyone joins
    await t.rooms.addMember(t.owner, room.id, 'ana');
    await t.rooms.addMember(t.owner, room.id, 'bob');
    for (const s of [a, b]) (await t.chat.join(s.id, room.id)).start();
    (await t.chat.join(c.id, lobby.id)).start();
    const checks: string[][] = []; // the users of each access read
    const roomAccess = t.store.roomAccess.bind(t.store);
    t.store.roomAccess = (id, user) => (checks.push([user]), roomAccess(id, user));
    const roomAccessMany = t.store.roomAccessMany.bind(t.store);
    t.store.roomAccessMany = (id, users) => (checks.push(users), roomAccessMany(id, users));

    t.advance(60_000);
    await Promise.all([1, 2, 3].map((i) => t.chat.send(a.id, room.id, `hi ${i}`, `h${i}`)));
    await t.chat.maintain();
    expect(checks).toEqual([]); // no read per send, and no round reads a room whose revision stayed

    // The kick is stored but its control event never arrives (this setup delivers none, as a lost one).
    await t.store.removeMember(room.id, asUserId('u-ana'));
    await t.chat.maintain();
    expect(checks).toEqual([['u-ana', 'u-bob']]); // both of the room's subscriptions, in one read
    expect(a.frames.at(-1)).toEqual({ type: 'room.removed', room: room.id, reason: 'kicked' });
    expect(b.frames.some((f) => f.type === 'room.removed')).toBe(false);
    await expect(t.chat.send(a.id, room.id, 'after', 'x1')).rejects.toMatchObject({ code: 'NOT_JOINED' });
    await expect(t.chat.send(b.id, room.id, 'still here', 'x2')).resolves.toMatchObject({ duplicate: false });
    await t.chat.maintain();
    expect(checks).toHaveLength(1); // bob's check made him current

    // A reader of a public room who never sends: banned, told at the next round.
    await t.store.banMember(lobby.id, asUserId('u-cleo'), t.clock.now());
    await t.chat.maintain();
    expect(c.frames.at(-1)).toEqual({ type: 'room.removed', room: lobby.id, reason: 'banned' });
    expect(checks).toEqual([['u-ana', 'u-bob'], ['u-cleo']]);
  });

  it('a kick that lands while the join is under way ends the subscription at the next round', async () => {
    const t = setup();
    const room = await t.rooms.create(t.owner, 'Racy', 'private');
    const a = t.session('ana');
    await t.rooms.addMember(t.owner, room.id, 'ana');
    const attach = t.hub.attach.bind(t.hub);
    t.hub.attach = async (id, port, rev) => {
      await t.store.removeMember(id, asUserId('u-ana')); // after the join read ana's right, before it subscribed
      return attach(id, port, rev);
    };
    (await t.chat.join(a.id, room.id)).start();
    await t.chat.maintain();
    expect(a.frames.at(-1)).toEqual({ type: 'room.removed', room: room.id, reason: 'kicked' });
    await expect(t.chat.send(a.id, room.id, 'x', 'k')).rejects.toMatchObject({ code: 'NOT_JOINED' });
  });
});
