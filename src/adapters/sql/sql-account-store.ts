/**
 * Users and refresh tokens in SQL. Usernames are unique by their lowercased key; marking a refresh token used is
 * one conditional UPDATE, so of two concurrent refreshes exactly one wins.
 */
import type { Kysely, Selectable } from 'kysely';
import { ChatError } from '../../core/errors.js';
import type { RefreshTokenRecord } from '../../core/ports.js';
import { asUserId, type User, type UserId, type UserRecord } from '../../core/types.js';
import { nameKey } from '../shared/store-rules.js';
import { CONSTRAINTS, type Database, type RefreshTokensTable, type UsersTable } from './schema.js';
import type { SqlDatabase } from './sql-connection.js';
import { guard, isForeignKeyViolation, isUniqueViolation } from './sql-errors.js';

export class SqlAccountStore {
  readonly #db: Kysely<Database>;
  readonly #database: SqlDatabase;

  constructor(database: SqlDatabase) {
    this.#database = database;
    this.#db = database.db;
  }

  createUser(user: UserRecord): Promise<void> {
    return guard(async () => {
      try {
        await this.#db
          .insertInto('users')
          .values({
            id: user.id,
            username: user.username,
            username_key: nameKey(user.username),
            password_hash: user.passwordHash,
            created_at: user.createdAt,
          })
          .execute();
      } catch (error) {
        if (isUniqueViolation(error, CONSTRAINTS.usernameKey)) {
          throw new ChatError('USERNAME_TAKEN', 'This username is taken.', { cause: error });
        }
        throw error;
      }
    });
  }

  findUserByName(username: string): Promise<UserRecord | undefined> {
    return guard(async () => {
      const row = await this.#db
        .selectFrom('users')
        .selectAll()
        .where('username_key', '=', nameKey(username))
        .executeTakeFirst();
      return row && { ...toUser(row), passwordHash: row.password_hash };
    });
  }

  findUserById(id: UserId): Promise<User | undefined> {
    return guard(async () => {
      const row = await this.#db
        .selectFrom('users')
        .select(['id', 'username', 'created_at'])
        .where('id', '=', id)
        .executeTakeFirst();
      return row && toUser(row);
    });
  }

  setPasswordHash(id: UserId, passwordHash: string): Promise<void> {
    return guard(async () => {
      await this.#db.updateTable('users').set({ password_hash: passwordHash }).where('id', '=', id).execute();
    });
  }

  tokensValidAfter(id: UserId): Promise<number | undefined> {
    return guard(async () => {
      const row = await this.#db.selectFrom('users').select('tokens_valid_after').where('id', '=', id).executeTakeFirst();
      return row && Number(row.tokens_valid_after);
    });
  }

  revokeUserTokens(id: UserId, at: number, options: { refreshTokens: boolean }): Promise<void> {
    return guard(async () => {
      await this.#database.writeTransaction(async (trx) => {
        await trx.updateTable('users').set({ tokens_valid_after: at }).where('id', '=', id).where('tokens_valid_after', '<', at).execute();
        if (!options.refreshTokens) return;
        await trx.updateTable('refresh_tokens').set({ revoked_at: at }).where('user_id', '=', id).where('revoked_at', 'is', null).execute();
      });
    });
  }

  insertRefreshToken(record: RefreshTokenRecord): Promise<void> {
    return guard(async () => {
      try {
        await this.#db
          .insertInto('refresh_tokens')
          .values({
            id: record.id,
            user_id: record.userId,
            family_id: record.familyId,
            token_hash: record.tokenHash,
            created_at: record.createdAt,
            expires_at: record.expiresAt,
            used_at: record.usedAt,
            revoked_at: record.revokedAt,
          })
          .execute();
      } catch (error) {
        if (isForeignKeyViolation(error)) throw new ChatError('USER_NOT_FOUND', 'No such user.', { cause: error });
        throw error;
      }
    });
  }

  findRefreshToken(tokenHash: string): Promise<RefreshTokenRecord | undefined> {
    return guard(async () => {
      const row = await this.#db
        .selectFrom('refresh_tokens')
        .selectAll()
        .where('token_hash', '=', tokenHash)
        .executeTakeFirst();
      return row && toRefreshToken(row);
    });
  }

  markRefreshTokenUsed(id: string, at: number): Promise<boolean> {
    return guard(async () => {
      const result = await this.#db
        .updateTable('refresh_tokens')
        .set({ used_at: at })
        .where('id', '=', id)
        .where('used_at', 'is', null)
        .where('revoked_at', 'is', null)
        .executeTakeFirst();
      return result.numUpdatedRows === 1n;
    });
  }

  revokeRefreshFamily(familyId: string, at: number): Promise<void> {
    return guard(async () => {
      await this.#db
        .updateTable('refresh_tokens')
        .set({ revoked_at: at })
        .where('family_id', '=', familyId)
        .where('revoked_at', 'is', null)
        .execute();
    });
  }
}

function toUser(row: Pick<Selectable<UsersTable>, 'id' | 'username' | 'created_at'>): User {
  return { id: asUserId(row.id), username: row.username, createdAt: row.created_at };
}

function toRefreshToken(row: Selectable<RefreshTokensTable>): RefreshTokenRecord {
  return {
    id: row.id,
    userId: asUserId(row.user_id),
    familyId: row.family_id,
    tokenHash: row.token_hash,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    usedAt: row.used_at,
    revokedAt: row.revoked_at,
  };
}
