/**
 * Ports: how the core talks to the world. They speak the domain; adapters own connections and transactions.
 */
import type { MessageType, UserRef } from '../protocol/frames.js';
import type {
  MemberRole,
  Message,
  MessageId,
  Principal,
  Room,
  RoomId,
  SessionId,
  User,
  UserId,
  UserRecord,
} from './types.js';

/** Wall clock in epoch milliseconds (UTC). Tests use a fake one. */
export interface Clock {
  now(): number;
}

/** Unique, unguessable ids (URL-safe strings). */
export interface IdGenerator {
  next(): string;
}

// ---- accounts ----------------------------------------------------------------------------------------------

/** Opaque bearer secrets (refresh tokens): `create` gives the token and the hash to store; `hash` is deterministic. */
export interface OpaqueTokens {
  create(): { token: string; hash: string };
  hash(token: string): string;
}

/** Slow password hashing (argon2id). `verify` never throws for a malformed hash: it answers false. */
export interface PasswordHasher {
  hash(password: string): Promise<string>;
  verify(hash: string, password: string): Promise<boolean>;
}

export interface IssuedAccessToken {
  token: string;
  expiresAt: number;
}

export interface VerifiedAccessToken extends Principal {
  /** Epoch ms of `exp` and `iat`. */
  expiresAt: number;
  issuedAt: number;
  /** Issued by an external identity provider (JWKS): the user is provisioned on first sight. */
  external?: boolean;
}

/** Short-lived signed access tokens. `verify` rejects with ChatError TOKEN_INVALID for anything not valid now. */
export interface AccessTokens {
  issue(principal: Principal): Promise<IssuedAccessToken>;
  verify(token: string): Promise<VerifiedAccessToken>;
}

export interface UserStore {
  /** Rejects with ChatError USERNAME_TAKEN when the username exists (compared case-insensitively). */
  createUser(user: UserRecord): Promise<void>;
  /** Case-insensitive lookup. */
  findUserByName(username: string): Promise<UserRecord | undefined>;
  findUserById(id: UserId): Promise<User | undefined>;
  setPasswordHash(id: UserId, passwordHash: string): Promise<void>;
  /**
   * Epoch ms before which the user's access tokens are refused (0: never revoked); undefined for an unknown user.
   */
  tokensValidAfter(id: UserId): Promise<number | undefined>;
  /**
   * Raises tokensValidAfter to `at` and, with `refreshTokens`, revokes every refresh token of the user, in one
   * transaction. Idempotent; never lowers tokensValidAfter.
   */
  revokeUserTokens(id: UserId, at: number, options: { refreshTokens: boolean }): Promise<void>;
}

export interface RefreshTokenRecord {
  id: string;
  userId: UserId;
  familyId: string;
  /** SHA-256 of the opaque token, hex. The token itself is never stored. */
  tokenHash: string;
  createdAt: number;
  expiresAt: number;
  usedAt: number | null;
  revokedAt: number | null;
}

export interface RefreshTokenStore {
  insertRefreshToken(record: RefreshTokenRecord): Promise<void>;
  findRefreshToken(tokenHash: string): Promise<RefreshTokenRecord | undefined>;
  /**
   * Marks an unused, unrevoked token used, atomically. Answers false when it was already used or revoked,
   * so of two concurrent refreshes with one token exactly one wins.
   */
  markRefreshTokenUsed(id: string, at: number): Promise<boolean>;
  /** Revokes every token of the family (rotation chain). Idempotent. */
  revokeRefreshFamily(familyId: string, at: number): Promise<void>;
}

// ---- rooms -------------------------------------------------------------------------------------------------

export interface RoomSummary extends Room {
  /** Whether the asking user is a member. */
  member: boolean;
  /** The room's last seq (0 when it has no message). */
  lastSeq: number;
}

export interface RoomAccess {
  room: Room;
  member: boolean;
  banned: boolean;
  /** The room's access revision, read with the rest (see RoomStore). */
  accessRev: number;
}

/** What upkeep reads of each room with local members, every round: its last committed seq and access revision. */
export interface RoomHead {
  seq: number;
  accessRev: number;
}

/**
 * Rooms and memberships. Each room has an access revision: every change that can take a user's right to read the
 * room away (a removeMember that removed someone, every banMember) increments it in the same transaction, so an
 * instance that compares it with the revision it authorized a subscription at knows when to check again, even if
 * the control event that announced the change never reached it.
 */
export interface RoomStore {
  /** Creates the room and the owner's membership (role owner). Rejects with ROOM_NAME_TAKEN (case-insensitive). */
  createRoom(room: Room): Promise<void>;
  getRoom(id: RoomId): Promise<Room | undefined>;
  /** The room and the user's standing in it, in one read (authorization checks); undefined when no such room. */
  roomAccess(roomId: RoomId, userId: UserId): Promise<RoomAccess | undefined>;
  /**
   * roomAccess for many users of one room (the re-check after a kick or ban): each given user's access, the room's
   * access revision read before the memberships and bans; an empty map when no such room.
   */
  roomAccessMany(roomId: RoomId, userIds: UserId[]): Promise<Map<UserId, RoomAccess>>;
  /** Public rooms plus private rooms the user is a member of, ordered by name. */
  listRoomsVisibleTo(userId: UserId): Promise<RoomSummary[]>;
  /** Adds a membership; answers true when it is new, false when the user was already a member. */
  addMember(roomId: RoomId, userId: UserId, role: MemberRole, at: number): Promise<boolean>;
  isMember(roomId: RoomId, userId: UserId): Promise<boolean>;
  /** Ends a membership; answers whether there was one. The owner's membership cannot be removed (false). */
  removeMember(roomId: RoomId, userId: UserId): Promise<boolean>;
  /** Ends the membership (if any) and records a ban, so the user can neither join nor be re-added. Idempotent. */
  banMember(roomId: RoomId, userId: UserId, at: number): Promise<void>;
  isBanned(roomId: RoomId, userId: UserId): Promise<boolean>;
}

// ---- messages ----------------------------------------------------------------------------------------------

export interface AppendInput {
  id: MessageId;
  roomId: RoomId;
  senderId: UserId;
  senderName: string;
  type: MessageType;
  body: string;
  /** Idempotency key, unique per (room, sender). null for messages that need none (system). */
  clientMsgId: string | null;
  createdAt: number;
}

export interface AppendResult {
  message: Message;
  /** true when (room, sender, clientMsgId) was already stored: `message` is the first one, nothing new stored. */
  duplicate: boolean;
}

/**
 * The record of every message. Guarantee: `append` resolves only after the row is committed (durable);
 * `seq` is per room, starts at 1 and rises by exactly 1, assigned inside the insert's transaction — also when
 * several processes append to one database. Concurrent appends may be grouped into one transaction.
 * Rejects with ChatError UNAVAILABLE (temporary) when the database cannot be reached; nothing is then acked.
 */
export interface MessageStore {
  append(input: AppendInput): Promise<AppendResult>;
  /** Messages with seq > after, ascending, at most `limit`. */
  readAfter(roomId: RoomId, after: number, limit: number): Promise<Message[]>;
  /** The `limit` messages just below `before` (seq < before), returned ascending. */
  readBefore(roomId: RoomId, before: number, limit: number): Promise<Message[]>;
  /** The room's last committed seq; 0 for a room without messages (or an unknown room). */
  head(roomId: RoomId): Promise<number>;
  /** The last committed seq and the access revision of each given room, in one round trip (unknown rooms are absent). */
  heads(roomIds: RoomId[]): Promise<Map<RoomId, RoomHead>>;
}

export interface Store extends UserStore, RefreshTokenStore, RoomStore, MessageStore {
  /** Resolves when the database answers a trivial query. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

// ---- fan-out -----------------------------------------------------------------------------------------------

export type Envelope = (
  | { kind: 'message'; room: RoomId; message: Message }
  | { kind: 'presence'; room: RoomId; event: 'joined' | 'left'; user: UserRef }
  | { kind: 'typing'; room: RoomId; user: UserRef }
) & {
  /** Epoch ms when it was published (set by the metrics decorator; latency figures only, never trusted for order). */
  sentAt?: number;
};

/**
 * Deployment-wide commands every instance must act on at once: end a user's sessions (logout, password change,
 * admin revoke), end a user's subscription to a room (kick, ban). The store has already recorded the change, so a
 * lost control event only delays the effect until the session's next check (token expiry, next command).
 */
export type ControlEvent =
  | { kind: 'user.revoked'; user: UserId; reason: 'logout' | 'password' | 'admin' }
  | { kind: 'room.removed'; room: RoomId; user: UserId; reason: 'kicked' | 'banned' };

/**
 * Carries envelopes to every instance subscribed to a room, the publisher's own included, and control events to
 * every instance of the deployment.
 * Guarantee: at-most-once, ordered per publisher and room. It is a fast hint, never the record: the store is.
 */
export interface Broker {
  /** Resolves once handed to the transport (not once delivered). */
  publish(room: RoomId, envelope: Envelope): Promise<void>;
  /** Resolves once the subscription is confirmed: envelopes published after that reach the handler. */
  subscribe(room: RoomId): Promise<void>;
  unsubscribe(room: RoomId): Promise<void>;
  /** The one receive handler of this instance, set once by the composition root. */
  onEnvelope(handler: (envelope: Envelope) => void): void;
  /** Sends a control event to every instance, this one included (at-most-once; resolves once handed over). */
  publishControl(event: ControlEvent): Promise<void>;
  /** The one control handler of this instance, set once by the composition root. */
  onControl(handler: (event: ControlEvent) => void): void;
  /** Called after the broker lost and regained its subscriptions: envelopes may have been lost meanwhile. */
  onRestored(handler: () => void): void;
  /** Resolves when a round trip through the broker completes within `timeoutMs` (readiness); rejects otherwise. */
  probe(timeoutMs: number): Promise<void>;
  close(): Promise<void>;
}

/**
 * Who is in a room right now, counting a user once however many sessions they hold.
 * Ephemeral: never persisted beyond the lease of the instance that holds the session.
 */
export interface Presence {
  /** Answers true when this is the user's first session in the room (the user just arrived). */
  add(room: RoomId, user: Principal, session: SessionId): Promise<boolean>;
  /** Answers true when this was the user's last session in the room (the user just left). */
  remove(room: RoomId, user: UserId, session: SessionId): Promise<boolean>;
  list(room: RoomId): Promise<Principal[]>;
  /**
   * Removes sessions whose lease ran out (their instance died) in the given rooms, and answers the users who
   * thereby left — each departure answered to exactly one caller across all instances.
   */
  expire(rooms: RoomId[]): Promise<Array<{ room: RoomId; user: Principal }>>;
  close(): Promise<void>;
}

// ---- rate limits -------------------------------------------------------------------------------------------

/** A token bucket: `capacity` tokens, refilled continuously at `perSecond`. */
export interface RateRule {
  capacity: number;
  perSecond: number;
  /**
   * A shared limiter may serve this rule from leases: one round trip takes up to a tenth of the capacity, which
   * this instance then spends locally for up to a second. The limit across instances is never exceeded (no token
   * is spent that the shared bucket did not grant); an instance may be refused while another holds unspent
   * leased tokens, and `remaining` is then approximate. For limits whose callers only need allowed / refused.
   */
  lease?: boolean;
}

export interface RateDecision {
  allowed: boolean;
  /** Tokens left after this call. */
  remaining: number;
  /** When not allowed: how long until `cost` tokens (at least 1) are available. 0 when allowed. */
  retryAfterMs: number;
}

/**
 * Token buckets by key, shared by every instance that uses the same medium (Redis) or per process (memory).
 * `take(key, rule, cost)` removes `cost` tokens when that many are left; `cost` 0 only checks that one is left.
 * Buckets that have refilled completely may be forgotten (their zero value is a full bucket).
 */
export interface RateLimiter {
  take(key: string, rule: RateRule, cost?: number): Promise<RateDecision>;
  close(): Promise<void>;
}
