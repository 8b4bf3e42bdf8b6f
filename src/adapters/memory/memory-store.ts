/**
 * MemoryStore: the whole Store in one process's memory — a real single-node store (not a test double) with the
 * port's semantics: case-insensitive unique names, per-room seq from 1 with no hole, idempotent append, atomic
 * refresh-token use. Every answer is a copy, so callers can never mutate what is stored. Nothing survives a
 * restart: use it for one node without persistence, and for tests.
 */
import { ChatError } from '../../core/errors.js';
import type { AppendInput, AppendResult, RefreshTokenRecord, RoomAccess, RoomHead, RoomSummary, Store } from '../../core/ports.js';
import type { MemberRole, Message, Room, RoomId, User, UserId, UserRecord } from '../../core/types.js';
import {
  checkAppendInput,
  compareNameKeys,
  idempotencyKey,
  nameKey,
  readLimit,
  seqBound,
  storeClosed,
} from '../shared/store-rules.js';

interface RoomState {
  room: Room;
  /** messages[i] has seq i + 1. */
  messages: Message[];
  members: Map<UserId, { role: MemberRole; createdAt: number }>;
  banned: Set<UserId>;
  /** idempotencyKey(room, sender, clientMsgId) -> the first message stored under it. */
  byClientMsgId: Map<string, Message>;
  /** The access revision (RoomStore): incremented by every kick that removed a member and every ban. */
  accessRev: number;
}

const accessOf = (state: RoomState, userId: UserId): RoomAccess => ({
  room: { ...state.room },
  member: state.members.has(userId),
  banned: state.banned.has(userId),
  accessRev: state.accessRev,
});

export class MemoryStore implements Store {
  readonly #users = new Map<UserId, UserRecord>();
  readonly #userIdByKey = new Map<string, UserId>();
  readonly #rooms = new Map<RoomId, RoomState>();
  readonly #roomIdByKey = new Map<string, RoomId>();
  readonly #tokens = new Map<string, RefreshTokenRecord>();
  readonly #tokenIdByHash = new Map<string, string>();
  readonly #tokensValidAfter = new Map<UserId, number>();
  #closed = false;

  constructor() {}

  // ---- users ---------------------------------------------------------------------------------------------

  createUser(user: UserRecord): Promise<void> {
    return this.#run(() => {
      const key = nameKey(user.username);
      if (this.#userIdByKey.has(key)) throw new ChatError('USERNAME_TAKEN', 'This username is taken.');
      if (this.#users.has(user.id)) throw new ChatError('INTERNAL', 'Duplicate user id.');
      this.#users.set(user.id, { ...user });
      this.#userIdByKey.set(key, user.id);
    });
  }

  findUserByName(username: string): Promise<UserRecord | undefined> {
    return this.#run(() => {
      const id = this.#userIdByKey.get(nameKey(username));
      const user = id === undefined ? undefined : this.#users.get(id);
      return user && { ...user };
    });
  }

  findUserById(id: UserId): Promise<User | undefined> {
    return this.#run(() => {
      const user = this.#users.get(id);
      return user && { id: user.id, username: user.username, createdAt: user.createdAt };
    });
  }

  setPasswordHash(id: UserId, passwordHash: string): Promise<void> {
    return this.#run(() => {
      const user = this.#users.get(id);
      if (user) user.passwordHash = passwordHash;
    });
  }

  tokensValidAfter(id: UserId): Promise<number | undefined> {
    return this.#run(() => (this.#users.has(id) ? (this.#tokensValidAfter.get(id) ?? 0) : undefined));
  }

  revokeUserTokens(id: UserId, at: number, options: { refreshTokens: boolean }): Promise<void> {
    return this.#run(() => {
      if (!this.#users.has(id)) return;
      this.#tokensValidAfter.set(id, Math.max(at, this.#tokensValidAfter.get(id) ?? 0));
      if (!options.refreshTokens) return;
      for (const record of this.#tokens.values()) {
        if (record.userId === id && record.revokedAt === null) record.revokedAt = at;
      }
    });
  }

  // ---- refresh tokens ------------------------------------------------------------------------------------

  insertRefreshToken(record: RefreshTokenRecord): Promise<void> {
    return this.#run(() => {
      if (!this.#users.has(record.userId)) throw new ChatError('USER_NOT_FOUND', 'No such user.');
      if (this.#tokens.has(record.id) || this.#tokenIdByHash.has(record.tokenHash)) {
        throw new ChatError('INTERNAL', 'Duplicate refresh token.');
      }
      this.#tokens.set(record.id, { ...record });
      this.#tokenIdByHash.set(record.tokenHash, record.id);
    });
  }

  findRefreshToken(tokenHash: string): Promise<RefreshTokenRecord | undefined> {
    return this.#run(() => {
      const id = this.#tokenIdByHash.get(tokenHash);
      const record = id === undefined ? undefined : this.#tokens.get(id);
      return record && { ...record };
    });
  }

  markRefreshTokenUsed(id: string, at: number): Promise<boolean> {
    return this.#run(() => {
      const record = this.#tokens.get(id);
      if (!record || record.usedAt !== null || record.revokedAt !== null) return false;
      record.usedAt = at;
      return true;
    });
  }

  revokeRefreshFamily(familyId: string, at: number): Promise<void> {
    return this.#run(() => {
      for (const record of this.#tokens.values()) {
        if (record.familyId === familyId && record.revokedAt === null) record.revokedAt = at;
      }
    });
  }

  // ---- rooms ---------------------------------------------------------------------------------------------

  createRoom(room: Room): Promise<void> {
    return this.#run(() => {
      const key = nameKey(room.name);
      if (this.#roomIdByKey.has(key)) throw new ChatError('ROOM_NAME_TAKEN', 'This room name is taken.');
      if (this.#rooms.has(room.id)) throw new ChatError('INTERNAL', 'Duplicate room id.');
      if (!this.#users.has(room.ownerId)) throw new ChatError('USER_NOT_FOUND', 'The owner does not exist.');
      const members = new Map([[room.ownerId, { role: 'owner' as const, createdAt: room.createdAt }]]);
      this.#rooms.set(room.id, { room: { ...room }, messages: [], members, banned: new Set(), byClientMsgId: new Map(), accessRev: 0 });
      this.#roomIdByKey.set(key, room.id);
    });
  }

  getRoom(id: RoomId): Promise<Room | undefined> {
    return this.#run(() => {
      const state = this.#rooms.get(id);
      return state && { ...state.room };
    });
  }

  roomAccess(roomId: RoomId, userId: UserId): Promise<RoomAccess | undefined> {
    return this.#run(() => {
      const state = this.#rooms.get(roomId);
      return state && accessOf(state, userId);
    });
  }

  roomAccessMany(roomId: RoomId, userIds: UserId[]): Promise<Map<UserId, RoomAccess>> {
    return this.#run(() => {
      const state = this.#rooms.get(roomId);
      const access = new Map<UserId, RoomAccess>();
      if (state) for (const user of userIds) access.set(user, accessOf(state, user));
      return access;
    });
  }

  listRoomsVisibleTo(userId: UserId): Promise<RoomSummary[]> {
    return this.#run(() => {
      const visible: RoomSummary[] = [];
      for (const { room, members, messages } of this.#rooms.values()) {
        const member = members.has(userId);
        if (room.visibility === 'public' || member) visible.push({ ...room, member, lastSeq: messages.length });
      }
      return visible.sort((a, b) => compareNameKeys(a.name, b.name));
    });
  }

  addMember(roomId: RoomId, userId: UserId, role: MemberRole, at: number): Promise<boolean> {
    return this.#run(() => {
      const state = this.#rooms.get(roomId);
      if (!state) throw new ChatError('ROOM_NOT_FOUND', 'No such room.');
      if (!this.#users.has(userId)) throw new ChatError('USER_NOT_FOUND', 'No such user.');
      if (state.members.has(userId)) return false;
      state.members.set(userId, { role, createdAt: at });
      return true;
    });
  }

  isMember(roomId: RoomId, userId: UserId): Promise<boolean> {
    return this.#run(() => this.#rooms.get(roomId)?.members.has(userId) ?? false);
  }

  removeMember(roomId: RoomId, userId: UserId): Promise<boolean> {
    return this.#run(() => {
      const state = this.#rooms.get(roomId);
      if (!state || state.members.get(userId)?.role !== 'member') return false;
      state.accessRev++;
      return state.members.delete(userId);
    });
  }

  banMember(roomId: RoomId, userId: UserId, _at: number): Promise<void> {
    return this.#run(() => {
      const state = this.#rooms.get(roomId);
      if (!state) throw new ChatError('ROOM_NOT_FOUND', 'No such room.');
      if (!this.#users.has(userId)) throw new ChatError('USER_NOT_FOUND', 'No such user.');
      if (state.members.get(userId)?.role === 'member') state.members.delete(userId);
      state.banned.add(userId);
      state.accessRev++;
    });
  }

  isBanned(roomId: RoomId, userId: UserId): Promise<boolean> {
    return this.#run(() => this.#rooms.get(roomId)?.banned.has(userId) ?? false);
  }

  // ---- messages ------------------------------------------------------------------------------------------

  append(input: AppendInput): Promise<AppendResult> {
    return this.#run(() => {
      const invalid = checkAppendInput(input);
      if (invalid) throw invalid;
      const state = this.#rooms.get(input.roomId);
      if (!state) throw new ChatError('ROOM_NOT_FOUND', 'No such room.');
      const key = input.clientMsgId === null ? undefined : idempotencyKey(input.roomId, input.senderId, input.clientMsgId);
      const first = key === undefined ? undefined : state.byClientMsgId.get(key);
      if (first) return { message: { ...first }, duplicate: true };
      const message: Message = {
        id: input.id,
        roomId: input.roomId,
        seq: state.messages.length + 1,
        senderId: input.senderId,
        senderName: input.senderName,
        type: input.type,
        body: input.body,
        clientMsgId: input.clientMsgId,
        createdAt: input.createdAt,
      };
      state.messages.push(message);
      if (key !== undefined) state.byClientMsgId.set(key, message);
      return { message: { ...message }, duplicate: false };
    });
  }

  readAfter(roomId: RoomId, after: number, limit: number): Promise<Message[]> {
    return this.#run(() => {
      const messages = this.#rooms.get(roomId)?.messages ?? [];
      const start = seqBound(after, Math.floor);
      return messages.slice(start, start + readLimit(limit)).map((m) => ({ ...m }));
    });
  }

  readBefore(roomId: RoomId, before: number, limit: number): Promise<Message[]> {
    return this.#run(() => {
      const messages = this.#rooms.get(roomId)?.messages ?? [];
      const end = Math.min(messages.length, Math.max(0, seqBound(before, Math.ceil) - 1));
      return messages.slice(Math.max(0, end - readLimit(limit)), end).map((m) => ({ ...m }));
    });
  }

  head(roomId: RoomId): Promise<number> {
    return this.#run(() => this.#rooms.get(roomId)?.messages.length ?? 0);
  }

  heads(roomIds: RoomId[]): Promise<Map<RoomId, RoomHead>> {
    return this.#run(() => {
      const heads = new Map<RoomId, RoomHead>();
      for (const id of roomIds) {
        const state = this.#rooms.get(id);
        if (state) heads.set(id, { seq: state.messages.length, accessRev: state.accessRev });
      }
      return heads;
    });
  }

  // ---- lifecycle -----------------------------------------------------------------------------------------

  ping(): Promise<void> {
    return this.#run(() => undefined);
  }

  async close(): Promise<void> {
    this.#closed = true;
  }

  /** Runs one operation atomically (nothing else runs in between) and answers like I/O: as a promise. */
  #run<T>(operation: () => T): Promise<T> {
    if (this.#closed) return Promise.reject(storeClosed());
    try {
      return Promise.resolve(operation());
    } catch (error) {
      return Promise.reject(error);
    }
  }
}
