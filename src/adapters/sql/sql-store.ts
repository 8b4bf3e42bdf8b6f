/**
 * SqlStore: the Store on SQLite or PostgreSQL, composed of the account, room and message stores over one
 * database. Build it with `openSqlStore` (sql-database.ts), which connects and migrates first.
 */
import { sql } from 'kysely';
import type { AppendInput, AppendResult, RefreshTokenRecord, RoomAccess, RoomHead, RoomSummary, Store } from '../../core/ports.js';
import type { MemberRole, Message, Room, RoomId, User, UserId, UserRecord } from '../../core/types.js';
import { SqlAccountStore } from './sql-account-store.js';
import type { SqlDatabase, SqlDialectName, SqlStoreLog } from './sql-connection.js';
import { guard } from './sql-errors.js';
import { SqlMessageStore, type SqlMessageStoreOptions } from './sql-message-store.js';
import { SqlRoomStore } from './sql-room-store.js';

export class SqlStore implements Store {
  readonly dialect: SqlDialectName;
  readonly #database: SqlDatabase;
  readonly #accounts: SqlAccountStore;
  readonly #rooms: SqlRoomStore;
  readonly #messages: SqlMessageStore;
  #closing: Promise<void> | undefined;

  constructor(database: SqlDatabase, log: SqlStoreLog, messages: SqlMessageStoreOptions = {}) {
    this.dialect = database.dialect;
    this.#database = database;
    this.#accounts = new SqlAccountStore(database);
    this.#rooms = new SqlRoomStore(database);
    this.#messages = new SqlMessageStore(database, log, messages);
  }

  createUser(user: UserRecord): Promise<void> {
    return this.#accounts.createUser(user);
  }
  findUserByName(username: string): Promise<UserRecord | undefined> {
    return this.#accounts.findUserByName(username);
  }
  findUserById(id: UserId): Promise<User | undefined> {
    return this.#accounts.findUserById(id);
  }
  setPasswordHash(id: UserId, passwordHash: string): Promise<void> {
    return this.#accounts.setPasswordHash(id, passwordHash);
  }
  tokensValidAfter(id: UserId): Promise<number | undefined> {
    return this.#accounts.tokensValidAfter(id);
  }
  revokeUserTokens(id: UserId, at: number, options: { refreshTokens: boolean }): Promise<void> {
    return this.#accounts.revokeUserTokens(id, at, options);
  }
  insertRefreshToken(record: RefreshTokenRecord): Promise<void> {
    return this.#accounts.insertRefreshToken(record);
  }
  findRefreshToken(tokenHash: string): Promise<RefreshTokenRecord | undefined> {
    return this.#accounts.findRefreshToken(tokenHash);
  }
  markRefreshTokenUsed(id: string, at: number): Promise<boolean> {
    return this.#accounts.markRefreshTokenUsed(id, at);
  }
  revokeRefreshFamily(familyId: string, at: number): Promise<void> {
    return this.#accounts.revokeRefreshFamily(familyId, at);
  }

  createRoom(room: Room): Promise<void> {
    return this.#rooms.createRoom(room);
  }
  getRoom(id: RoomId): Promise<Room | undefined> {
    return this.#rooms.getRoom(id);
  }
  roomAccess(roomId: RoomId, userId: UserId): Promise<RoomAccess | undefined> {
    return this.#rooms.roomAccess(roomId, userId);
  }
  roomAccessMany(roomId: RoomId, userIds: UserId[]): Promise<Map<UserId, RoomAccess>> {
    return this.#rooms.roomAccessMany(roomId, userIds);
  }
  listRoomsVisibleTo(userId: UserId): Promise<RoomSummary[]> {
    return this.#rooms.listRoomsVisibleTo(userId);
  }
  addMember(roomId: RoomId, userId: UserId, role: MemberRole, at: number): Promise<boolean> {
    return this.#rooms.addMember(roomId, userId, role, at);
  }
  isMember(roomId: RoomId, userId: UserId): Promise<boolean> {
    return this.#rooms.isMember(roomId, userId);
  }

  removeMember(roomId: RoomId, userId: UserId): Promise<boolean> {
    return this.#rooms.removeMember(roomId, userId);
  }
  banMember(roomId: RoomId, userId: UserId, at: number): Promise<void> {
    return this.#rooms.banMember(roomId, userId, at);
  }
  isBanned(roomId: RoomId, userId: UserId): Promise<boolean> {
    return this.#rooms.isBanned(roomId, userId);
  }

  append(input: AppendInput): Promise<AppendResult> {
    return this.#messages.append(input);
  }
  readAfter(roomId: RoomId, after: number, limit: number): Promise<Message[]> {
    return this.#messages.readAfter(roomId, after, limit);
  }
  readBefore(roomId: RoomId, before: number, limit: number): Promise<Message[]> {
    return this.#messages.readBefore(roomId, before, limit);
  }
  head(roomId: RoomId): Promise<number> {
    return this.#messages.head(roomId);
  }
  heads(roomIds: RoomId[]): Promise<Map<RoomId, RoomHead>> {
    return this.#messages.heads(roomIds);
  }

  ping(): Promise<void> {
    return guard(async () => {
      await sql`select 1`.execute(this.#database.db);
    });
  }

  /** Settles every queued append (committing what it can), then closes the connections. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      await this.#messages.close();
      await this.#database.destroy();
    })();
    return this.#closing;
  }
}
