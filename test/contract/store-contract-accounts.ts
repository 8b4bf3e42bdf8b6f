/** Store contract, accounts: case-insensitive usernames, refresh tokens used exactly once, family revocation. */
import { describe, expect, it } from 'vitest';
import { asUserId, type UserRecord } from '../../src/core/types.js';
import type { StoreGetter } from './store-contract.js';
import { expectChatError, givenUser, range, refreshTokenFor, T0, unique } from './store-fixtures.js';

export function accountContract(store: StoreGetter): void {
  describe('users', () => {
    it('creates a user found by id (without hash) and by name in any letter case (with hash)', async () => {
      const user = await givenUser(store(), unique('Émile-Zoë'));
      expect(await store().findUserById(user.id)).toEqual({ id: user.id, username: user.username, createdAt: user.createdAt });
      for (const variant of [user.username, user.username.toUpperCase(), user.username.toLowerCase()]) {
        expect(await store().findUserByName(variant)).toEqual(user);
      }
      expect(await store().findUserById(asUserId(unique('ghost')))).toBeUndefined();
      expect(await store().findUserByName(unique('ghost'))).toBeUndefined();
    });

    it('refuses a username taken in any letter case with USERNAME_TAKEN', async () => {
      const name = unique('Alice');
      await givenUser(store(), name);
      for (const variant of [name, name.toUpperCase(), name.toLowerCase()]) {
        const clash: UserRecord = { id: asUserId(unique('u')), username: variant, passwordHash: 'h', createdAt: T0 };
        await expectChatError(store().createUser(clash), 'USERNAME_TAKEN');
        expect(await store().findUserById(clash.id)).toBeUndefined();
      }
    });

    it('lets exactly one of concurrent sign-ups with one name win', async () => {
      const name = unique('race');
      const users = range(10).map((i): UserRecord => ({
        id: asUserId(unique('u')),
        username: i % 2 ? name.toUpperCase() : name,
        passwordHash: `h${i}`,
        createdAt: T0,
      }));
      const settled = await Promise.allSettled(users.map((user) => store().createUser(user)));
      expect(settled.filter((s) => s.status === 'fulfilled')).toHaveLength(1);
      for (const s of settled) if (s.status === 'rejected') expect(s.reason).toMatchObject({ code: 'USERNAME_TAKEN' });
    });
  });

  describe('refresh tokens', () => {
    it('stores a token found by its hash, every field intact', async () => {
      const user = await givenUser(store());
      const token = refreshTokenFor(user);
      await store().insertRefreshToken(token);
      expect(await store().findRefreshToken(token.tokenHash)).toEqual(token);
      expect(await store().findRefreshToken('0'.repeat(64))).toBeUndefined();
      const used = refreshTokenFor(user, { usedAt: T0 + 5, revokedAt: T0 + 6 });
      await store().insertRefreshToken(used);
      expect(await store().findRefreshToken(used.tokenHash)).toEqual(used);
    });

    it('refuses a token of an unknown user with USER_NOT_FOUND', async () => {
      const ghost: UserRecord = { id: asUserId(unique('ghost')), username: 'ghost', passwordHash: 'h', createdAt: T0 };
      await expectChatError(store().insertRefreshToken(refreshTokenFor(ghost)), 'USER_NOT_FOUND');
    });

    it('marks a token used exactly once, also under concurrency', async () => {
      const user = await givenUser(store());
      const token = refreshTokenFor(user);
      await store().insertRefreshToken(token);
      expect(await store().markRefreshTokenUsed(token.id, T0 + 10)).toBe(true);
      expect(await store().markRefreshTokenUsed(token.id, T0 + 11)).toBe(false);
      expect(await store().findRefreshToken(token.tokenHash)).toEqual({ ...token, usedAt: T0 + 10 });

      const raced = refreshTokenFor(user);
      await store().insertRefreshToken(raced);
      const wins = await Promise.all(range(20).map((i) => store().markRefreshTokenUsed(raced.id, T0 + i)));
      expect(wins.filter(Boolean)).toHaveLength(1);
      expect(await store().markRefreshTokenUsed(unique('ghost'), T0)).toBe(false);
    });

    it('revokes a whole family, idempotently, leaving other families alone; a revoked token cannot be used', async () => {
      const user = await givenUser(store());
      const familyId = unique('family');
      const family = range(3).map(() => refreshTokenFor(user, { familyId }));
      const other = refreshTokenFor(user);
      for (const token of [...family, other]) await store().insertRefreshToken(token);
      await store().markRefreshTokenUsed(family[0]!.id, T0 + 1);

      await store().revokeRefreshFamily(familyId, T0 + 2);
      await store().revokeRefreshFamily(familyId, T0 + 3);

      for (const token of family) {
        expect(await store().findRefreshToken(token.tokenHash)).toMatchObject({ revokedAt: T0 + 2 });
        expect(await store().markRefreshTokenUsed(token.id, T0 + 4)).toBe(false);
      }
      expect(await store().findRefreshToken(family[0]!.tokenHash)).toMatchObject({ usedAt: T0 + 1 });
      expect(await store().findRefreshToken(other.tokenHash)).toEqual(other);
      await store().revokeRefreshFamily(unique('no-such-family'), T0);
    });
  });

  describe('lifecycle', () => {
    it('answers ping while open and closes idempotently', async () => {
      await expect(store().ping()).resolves.toBeUndefined();
      await store().close();
      await store().close();
      await expectChatError(store().ping(), 'UNAVAILABLE');
    });
  });
}
