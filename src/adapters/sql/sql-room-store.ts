/**
 * Rooms and memberships in SQL. Room names are unique by their lowercased key; a room and its owner's
 * membership are created in one transaction.
 */
import { CompiledQuery, sql, type Kysely, type Selectable } from 'kysely';
import { ChatError } from '../../core/errors.js';
import type { RoomAccess, RoomSummary } from '../../core/ports.js';
import { asRoomId, asUserId, type MemberRole, type Room, type RoomId, type UserId } from '../../core/types.js';
import { nameKey } from '../shared/store-rules.js';
import { CONSTRAINTS, type Database, type RoomsTable } from './schema.js';
import type { SqlDatabase } from './sql-connection.js';
import { guard, isForeignKeyViolation, isUniqueViolation } from './sql-errors.js';

type AccessRow = Pick<Selectable<RoomsTable>, 'id' | 'name' | 'visibility' | 'owner_id' | 'created_at' | 'access_rev'> & { member: unknown; banned: unknown };

const roomAccessSql = (roomId: string, userId: string) => `select r.id, r.name, r.visibility, r.owner_id, r.created_at, r.access_rev,
  exists (select 1 from room_members m where m.room_id = r.id and m.user_id = ${userId}) as member,
  exists (select 1 from room_bans b where b.room_id = r.id and b.user_id = ${userId}) as banned
  from rooms r where r.id = ${roomId}`;
/** SQLite binds `?` in order (user, user, room); PostgreSQL by number. */
const ROOM_ACCESS_SQLITE = roomAccessSql('?', '?');
const ROOM_ACCESS_POSTGRES = roomAccessSql('$1', '$2');
const USERS_CHUNK = 1_000; // user ids per query, far below any dialect's parameter limit

export class SqlRoomStore {
  readonly #database: SqlDatabase;

  constructor(database: SqlDatabase) {
    this.#database = database;
  }

  get #db() {
    return this.#database.db;
  }

  createRoom(room: Room): Promise<void> {
    return guard(async () => {
      try {
        await this.#database.writeTransaction(async (trx) => {
          await trx
            .insertInto('rooms')
            .values({
              id: room.id,
              name: room.name,
              name_key: nameKey(room.name),
              visibility: room.visibility,
              owner_id: room.ownerId,
              created_at: room.createdAt,
            })
            .execute();
          await trx
            .insertInto('room_members')
            .values({ room_id: room.id, user_id: room.ownerId, role: 'owner', created_at: room.createdAt })
            .execute();
        });
      } catch (error) {
        if (isUniqueViolation(error, CONSTRAINTS.roomNameKey)) {
          throw new ChatError('ROOM_NAME_TAKEN', 'This room name is taken.', { cause: error });
        }
        if (isForeignKeyViolation(error)) {
          throw new ChatError('USER_NOT_FOUND', 'The owner does not exist.', { cause: error });
        }
        throw error;
      }
    });
  }

  getRoom(id: RoomId): Promise<Room | undefined> {
    return guard(async () => {
      const row = await this.#db
        .selectFrom('rooms')
        .select(['id', 'name', 'visibility', 'owner_id', 'created_at'])
        .where('id', '=', id)
        .executeTakeFirst();
      return row && toRoom(row);
    });
  }

  /**
   * Every join, history read and re-authorization (when the room's access revision moved) reads this: one query,
   * compiled once per dialect — Kysely's builder and compiler cost more than the read itself. It still runs
   * through Kysely's driver (its connection lock and query timing).
   */
  roomAccess(roomId: RoomId, userId: UserId): Promise<RoomAccess | undefined> {
    return guard(async () => {
      const sqlite = this.#database.dialect === 'sqlite';
      const { rows } = await this.#db.executeQuery<AccessRow>(
        CompiledQuery.raw(sqlite ? ROOM_ACCESS_SQLITE : ROOM_ACCESS_POSTGRES, sqlite ? [userId, userId, roomId] : [roomId, userId]),
      );
      const row = rows[0];
      // exists() is 0/1 on SQLite, a boolean on PostgreSQL.
      return row && { room: toRoom(row), member: Boolean(row.member), banned: Boolean(row.banned), accessRev: row.access_rev };
    });
  }

  /**
   * The room first, then the memberships and bans (by chunks of users): a kick committed between the reads is seen
   * by the second, one committed after the first moves the revision past the one answered, so the caller checks
   * again. Never an answer that says "member" at a revision the kick had already passed.
   */
  roomAccessMany(roomId: RoomId, userIds: UserId[]): Promise<Map<UserId, RoomAccess>> {
    return guard(async () => {
      const access = new Map<UserId, RoomAccess>();
      const row = await this.#db
        .selectFrom('rooms')
        .select(['id', 'name', 'visibility', 'owner_id', 'created_at', 'access_rev'])
        .where('id', '=', roomId)
        .executeTakeFirst();
      if (!row) return access;
      const room = toRoom(row);
      const unique = [...new Set(userIds)];
      for (let i = 0; i < unique.length; i += USERS_CHUNK) {
        const users = unique.slice(i, i + USERS_CHUNK);
        const [members, bans] = await Promise.all(
          (['room_members', 'room_bans'] as const).map((table) =>
            this.#db.selectFrom(table).select('user_id').where('room_id', '=', roomId).where('user_id', 'in', users).execute(),
          ),
        );
        const member = new Set(members!.map((r) => r.user_id));
        const banned = new Set(bans!.map((r) => r.user_id));
        for (const user of users) access.set(user, { room, member: member.has(user), banned: banned.has(user), accessRev: row.access_rev });
      }
      return access;
    });
  }

  listRoomsVisibleTo(userId: UserId): Promise<RoomSummary[]> {
    return guard(async () => {
      // Code-point order of the key on both dialects (PostgreSQL's default collation may be a locale's).
      const byNameKey = this.#database.dialect === 'postgres' ? sql`r.name_key collate "C"` : sql`r.name_key`;
      const rows = await this.#db
        .selectFrom('rooms as r')
        .leftJoin('room_members as m', (join) => join.onRef('m.room_id', '=', 'r.id').on('m.user_id', '=', userId))
        .select(['r.id', 'r.name', 'r.visibility', 'r.owner_id', 'r.created_at', 'r.last_seq', 'm.user_id as member_id'])
        .where((eb) => eb.or([eb('r.visibility', '=', 'public'), eb('m.user_id', 'is not', null)]))
        .orderBy(byNameKey)
        .execute();
      return rows.map((row) => ({ ...toRoom(row), member: row.member_id !== null, lastSeq: row.last_seq }));
    });
  }

  addMember(roomId: RoomId, userId: UserId, role: MemberRole, at: number): Promise<boolean> {
    return guard(async () => {
      try {
        const result = await this.#db
          .insertInto('room_members')
          .values({ room_id: roomId, user_id: userId, role, created_at: at })
          .onConflict((oc) => oc.columns(['room_id', 'user_id']).doNothing())
          .executeTakeFirst();
        return result.numInsertedOrUpdatedRows === 1n;
      } catch (error) {
        if (!isForeignKeyViolation(error)) throw error;
        if (!(await this.getRoom(roomId))) throw new ChatError('ROOM_NOT_FOUND', 'No such room.', { cause: error });
        throw new ChatError('USER_NOT_FOUND', 'No such user.', { cause: error });
      }
    });
  }

  isMember(roomId: RoomId, userId: UserId): Promise<boolean> {
    return guard(async () => {
      const row = await this.#db
        .selectFrom('room_members')
        .select('user_id')
        .where('room_id', '=', roomId)
        .where('user_id', '=', userId)
        .executeTakeFirst();
      return row !== undefined;
    });
  }

  /** The delete and, when it removed someone, the room's access revision, in one transaction. */
  removeMember(roomId: RoomId, userId: UserId): Promise<boolean> {
    return guard(() =>
      this.#database.writeTransaction(async (trx) => {
        const result = await trx
          .deleteFrom('room_members')
          .where('room_id', '=', roomId)
          .where('user_id', '=', userId)
          .where('role', '<>', 'owner')
          .executeTakeFirst();
        if (result.numDeletedRows !== 1n) return false;
        await bumpAccessRev(trx, roomId);
        return true;
      }),
    );
  }

  banMember(roomId: RoomId, userId: UserId, at: number): Promise<void> {
    return guard(async () => {
      await this.#database.writeTransaction(async (trx) => {
        await trx.deleteFrom('room_members').where('room_id', '=', roomId).where('user_id', '=', userId).where('role', '<>', 'owner').execute();
        await trx
          .insertInto('room_bans')
          .values({ room_id: roomId, user_id: userId, created_at: at })
          .onConflict((oc) => oc.columns(['room_id', 'user_id']).doNothing())
          .execute();
        await bumpAccessRev(trx, roomId);
      });
    });
  }

  isBanned(roomId: RoomId, userId: UserId): Promise<boolean> {
    return guard(async () => {
      const row = await this.#db
        .selectFrom('room_bans')
        .select('user_id')
        .where('room_id', '=', roomId)
        .where('user_id', '=', userId)
        .executeTakeFirst();
      return row !== undefined;
    });
  }
}

const bumpAccessRev = (trx: Kysely<Database>, roomId: RoomId) =>
  trx
    .updateTable('rooms')
    .set((eb) => ({ access_rev: eb('access_rev', '+', 1) }))
    .where('id', '=', roomId)
    .execute();

function toRoom(row: Pick<Selectable<RoomsTable>, 'id' | 'name' | 'visibility' | 'owner_id' | 'created_at'>): Room {
  return {
    id: asRoomId(row.id),
    name: row.name,
    visibility: row.visibility,
    ownerId: asUserId(row.owner_id),
    createdAt: row.created_at,
  };
}
