/**
 * Live chat use cases for connected sessions: join (with history or resume), leave, send, typing, who is here,
 * and the clean-up when a connection ends for any reason.
 */
import type { JoinResult, SendResult, UserRef } from '../protocol/frames.js';
import { ChatError } from './errors.js';
import type { CoreDeps } from './deps.js';
import type { Hub } from './hub.js';
import { refusal, type Removal, type RoomService } from './rooms.js';
import type { ControlEvent, RateRule, RoomAccess, RoomHead } from './ports.js';
import type { SessionPort } from './session.js';
import type { Subscription } from './subscription.js';
import { asRoomId, type RoomId, type SessionId, type UserId } from './types.js';
import { checkBody } from './validate.js';
import { isoTime, toUserRef } from './wire.js';

type ChatDeps = Pick<CoreDeps, 'store' | 'broker' | 'presence' | 'clock' | 'rateLimiter' | 'limits' | 'log' | 'metrics'>;

interface LiveSession {
  port: SessionPort;
  rooms: Map<RoomId, Subscription>;
}

export interface Joined {
  result: JoinResult;
  /** Starts the replay and live delivery; call it right after the join reply has been written. */
  start(): void;
}

export class ChatService {
  private readonly sessions = new Map<SessionId, LiveSession>();
  /** Sends between their arrival and their ack (or failure): shutdown waits for them. */
  private inFlight = 0;
  private idleWaiters: Array<() => void> = [];

  constructor(
    private readonly deps: ChatDeps,
    private readonly rooms: RoomService,
    private readonly hub: Hub,
  ) {}

  get sessionCount(): number {
    return this.sessions.size;
  }

  /** Distinct users with a session here (computed on demand, for metrics). */
  get userCount(): number {
    const users = new Set<string>();
    for (const live of this.sessions.values()) users.add(live.port.principal.userId);
    return users.size;
  }

  /** Resolves once no send is between arrival and answer (at once if none is). For graceful shutdown. */
  settled(): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  connect(port: SessionPort): void {
    this.sessions.set(port.id, { port, rooms: new Map() });
  }

  async join(sessionId: SessionId, roomRef: string, since?: number): Promise<Joined> {
    const live = this.live(sessionId);
    const { principal } = live.port;
    const { room, member, accessRev } = await this.rooms.readable(principal, asRoomId(roomRef));
    if (room.visibility === 'public' && !member) {
      await this.deps.store.addMember(room.id, principal.userId, 'member', this.deps.clock.now());
    }
    const previous = live.rooms.get(room.id);
    if (!previous && live.rooms.size >= this.deps.limits.maxRoomsPerSession) {
      throw new ChatError('LIMIT_EXCEEDED', `at most ${this.deps.limits.maxRoomsPerSession} rooms per connection; leave one first`);
    }
    if (previous) this.hub.detach(previous);
    // Authorized at the revision read above: a kick since then moved the room's, so the next round checks again.
    const subscription = await this.hub.attach(room.id, live.port, accessRev);
    if (!this.sessions.has(sessionId)) {
      this.hub.detach(subscription);
      throw new ChatError('NOT_JOINED', 'connection closed during join');
    }
    live.rooms.set(room.id, subscription);
    try {
      const head = await this.deps.store.head(room.id);
      const from = since === undefined ? Math.max(0, head - this.deps.limits.historyOnJoin) : Math.min(since, head);
    if (since !== undefined) this.deps.metrics?.count('resumes');
      if (await this.deps.presence.add(room.id, principal, sessionId)) {
        this.publishPresence(room.id, 'joined', toUserRef(principal));
      }
      const members = (await this.deps.presence.list(room.id)).map(toUserRef);
      return { result: { room: room.id, head, from, members }, start: () => subscription.start(from) };
    } catch (err) {
      // Not joined after all: nothing may keep buffering for a subscription that will never start.
      if (live.rooms.get(room.id) === subscription) live.rooms.delete(room.id);
      await this.release(live.port, subscription);
      throw err;
    }
  }

  async leave(sessionId: SessionId, roomRef: string): Promise<void> {
    const live = this.live(sessionId);
    const subscription = live.rooms.get(asRoomId(roomRef));
    if (!subscription) throw new ChatError('NOT_JOINED', 'not joined to this room');
    live.rooms.delete(subscription.room);
    await this.release(live.port, subscription);
  }

  async send(sessionId: SessionId, roomRef: string, body: string, clientMsgId: string): Promise<SendResult> {
    this.deps.metrics?.count('messagesReceived');
    const acked = this.deps.metrics?.startTimer('ackLatency');
    this.inFlight++;
    try {
      const { port, subscription } = await this.authorized(sessionId, roomRef, 'msg', this.deps.limits.messageRate);
      checkBody(body, this.deps.limits.maxBodyChars);
      const { message, duplicate } = await this.rooms.post(subscription.room, port.principal, 'text', body, clientMsgId);
      acked?.();
      return { id: message.id, seq: message.seq, created_at: isoTime(message.createdAt), duplicate };
    } finally {
      if (--this.inFlight === 0) for (const resolve of this.idleWaiters.splice(0)) resolve();
    }
  }

  async typing(sessionId: SessionId, roomRef: string): Promise<void> {
    const { port, subscription } = await this.authorized(sessionId, roomRef, 'typing', this.deps.limits.typingRate);
    await this.deps.broker.publish(subscription.room, { kind: 'typing', room: subscription.room, user: toUserRef(port.principal) });
  }

  async who(sessionId: SessionId, roomRef: string): Promise<UserRef[]> {
    const live = this.live(sessionId);
    const room = await this.rooms.requireReadable(live.port.principal, asRoomId(roomRef));
    return (await this.deps.presence.list(room.id)).map(toUserRef);
  }

  /** The connection is gone (closed, dropped, timed out): leave every room, announcing departures. */
  async disconnect(sessionId: SessionId): Promise<void> {
    const live = this.sessions.get(sessionId);
    if (!live) return;
    this.sessions.delete(sessionId);
    const subscriptions = [...live.rooms.values()];
    live.rooms.clear();
    await Promise.all(subscriptions.map((s) => this.release(live.port, s)));
  }

  /**
   * A deployment-wide control event (from any instance, this one included): a revoked user's sessions end; a
   * kicked or banned user's subscriptions to the room end and they are told so.
   */
  handleControl(event: ControlEvent): void {
    for (const live of [...this.sessions.values()]) {
      if (live.port.principal.userId !== event.user) continue;
      if (event.kind === 'user.revoked') {
        live.port.end('revoked');
        continue;
      }
      const subscription = live.rooms.get(event.room);
      if (subscription) this.removeFrom(live, subscription, event.reason);
    }
  }

  /** Ends a session's subscription because its right to the room is gone, and tells the session why. */
  private removeFrom(live: LiveSession, subscription: Subscription, reason: Removal): void {
    live.rooms.delete(subscription.room);
    void this.release(live.port, subscription);
    live.port.push({ type: 'room.removed', room: subscription.room, reason });
  }

  /** Live sessions of a user on this instance (for connection caps and tests). */
  sessionsOf(userId: string): number {
    let n = 0;
    for (const live of this.sessions.values()) if (live.port.principal.userId === userId) n++;
    return n;
  }

  /**
   * Periodic upkeep (every second or so, and when the broker comes back): feeds behind the store catch up, so a
   * message the broker lost reaches everyone even if the room goes quiet; subscriptions whose room's access
   * revision moved since they were authorized are checked again, so a kick or ban whose control event was lost
   * (or that landed while the join was under way) still ends them; sessions of dead instances whose presence
   * lease ran out are announced as departures.
   */
  async maintain(): Promise<void> {
    const rooms = this.hub.roomIds();
    if (rooms.length === 0) return;
    const [heads, expired] = await Promise.all([
      this.deps.store.heads(rooms).catch((err: unknown) => {
        this.deps.log.warn({ err }, 'head check failed');
        return new Map<RoomId, RoomHead>();
      }),
      this.deps.presence.expire(rooms).catch((err: unknown) => {
        this.deps.log.warn({ err }, 'presence expiry failed');
        return [];
      }),
    ]);
    this.hub.syncHeads(heads);
    for (const { room, user } of expired) this.publishPresence(room, 'left', toUserRef(user));
    for (const [room, subscriptions] of this.hub.behindAccess(heads)) await this.recheck(room, subscriptions);
  }

  /**
   * Reads again, in one store read for the room (by chunks of users), the right of each session whose
   * subscription is behind the room's access revision: a refused subscription ends, the others are current.
   */
  private async recheck(room: RoomId, subscriptions: Subscription[]): Promise<void> {
    let access: Map<UserId, RoomAccess>;
    try {
      access = await this.deps.store.roomAccessMany(room, subscriptions.map((s) => s.session.principal.userId));
    } catch (err) {
      this.deps.log.warn({ err, room }, 'access re-check failed; the next round tries again');
      return;
    }
    for (const subscription of subscriptions) {
      const live = this.sessions.get(subscription.session.id);
      if (live?.rooms.get(room) !== subscription) continue; // left or rejoined meanwhile
      const mine = access.get(live.port.principal.userId);
      const refused = refusal(mine, live.port.principal);
      if (refused) this.removeFrom(live, subscription, refused.code === 'BANNED' ? 'banned' : 'kicked');
      else subscription.accessRev = mine!.accessRev;
    }
  }

  private async release(port: SessionPort, subscription: Subscription): Promise<void> {
    this.hub.detach(subscription);
    try {
      if (await this.deps.presence.remove(subscription.room, port.principal.userId, port.id)) {
        this.publishPresence(subscription.room, 'left', toUserRef(port.principal));
      }
    } catch (err) {
      this.deps.log.warn({ err, room: subscription.room }, 'presence removal failed; the lease will expire');
    }
  }

  private publishPresence(room: RoomId, event: 'joined' | 'left', user: UserRef): void {
    this.deps.broker
      .publish(room, { kind: 'presence', room, event, user })
      .catch((err: unknown) => this.deps.log.warn({ err, room }, 'presence publish failed'));
  }

  private live(sessionId: SessionId): LiveSession {
    const live = this.sessions.get(sessionId);
    if (!live) throw new ChatError('UNAUTHENTICATED', 'session is not connected');
    return live;
  }

  /**
   * The session has joined the room and is within its rate. Its right to read the room is kept current without a
   * read per send: control events end a removed user's subscriptions at once, and each maintenance round checks
   * again every subscription whose room's access revision moved (`recheck`).
   */
  private async authorized(sessionId: SessionId, roomRef: string, kind: string, rule: RateRule) {
    const joined = this.joined(sessionId, roomRef);
    const decision = await this.deps.rateLimiter.take(`${kind}:${joined.port.principal.userId}`, rule);
    if (!decision.allowed) {
      throw new ChatError('RATE_LIMITED', `slow down: retry in ${decision.retryAfterMs} ms`, { cause: { retryAfterMs: decision.retryAfterMs } });
    }
    return joined;
  }

  private joined(sessionId: SessionId, roomRef: string): { port: SessionPort; subscription: Subscription } {
    const live = this.live(sessionId);
    const subscription = live.rooms.get(asRoomId(roomRef));
    if (!subscription) throw new ChatError('NOT_JOINED', 'join the room first');
    return { port: live.port, subscription };
  }
}
