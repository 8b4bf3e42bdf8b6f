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

/** Short-lived signed access tokens. `verify` rejects with ChatError TOKEN_INVALID for anything not valid now. */
export interface AccessTokens {
  issue(principal: Principal): Promise<IssuedAccessToken>;
  verify(token: string): Promise<Principal & { expiresAt: number }>;
}

export interface UserStore {
  /** Rejects with ChatError USERNAME_TAKEN when the username exists (compared case-insensitively). */
  createUser(user: UserRecord): Promise<void>;
  /** Case-insensitive lookup. */
  findUserByName(username: string): Promise<UserRecord | undefined>;
  findUserById(id: UserId): Promise<User | undefined>;
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

export interface RoomStore {
  /** Creates the room and the owner's membership (role owner). Rejects with ROOM_NAME_TAKEN (case-insensitive). */
  createRoom(room: Room): Promise<void>;
  getRoom(id: RoomId): Promise<Room | undefined>;
  /** Public rooms plus private rooms the user is a member of, ordered by name. */
  listRoomsVisibleTo(userId: UserId): Promise<RoomSummary[]>;
  /** Adds a membership; answers true when it is new, false when the user was already a member. */
  addMember(roomId: RoomId, userId: UserId, role: MemberRole, at: number): Promise<boolean>;
  isMember(roomId: RoomId, userId: UserId): Promise<boolean>;
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
  /** The last committed seq of each given room, in one round trip (unknown rooms are absent). */
  heads(roomIds: RoomId[]): Promise<Map<RoomId, number>>;
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
 * Carries envelopes to every instance subscribed to a room, the publisher's own included.
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
