/** Store contract, security: password change, per-user token revocation, removing and banning members. */
import { describe, expect, it } from 'vitest';
import { asRoomId, asUserId } from '../../src/core/types.js';
import type { StoreGetter } from './store-contract.js';
import { givenRoom, givenUser, range, refreshTokenFor, T0, unique } from './store-fixtures.js';

export function securityContract(store: StoreGetter): void {
  describe('revocation and password change', () => {
    it('changes the password hash', async () => {
      const user = await givenUser(store());
      await store().setPasswordHash(user.id, 'new-hash');
      expect((await store().findUserByName(user.username))?.passwordHash).toBe('new-hash');
    });

    it('tokensValidAfter starts at 0, only rises, and is undefined for an unknown user', async () => {
      const user = await givenUser(store());
      expect(await store().tokensValidAfter(user.id)).toBe(0);
      await store().revokeUserTokens(user.id, T0 + 5_000, { refreshTokens: false });
      expect(await store().tokensValidAfter(user.id)).toBe(T0 + 5_000);
      await store().revokeUserTokens(user.id, T0 + 1_000, { refreshTokens: false });
      expect(await store().tokensValidAfter(user.id)).toBe(T0 + 5_000);
      expect(await store().tokensValidAfter(asUserId(unique('ghost')))).toBeUndefined();
    });

    it('revokes every refresh token of the user only when asked, and no one else’s', async () => {
      const [ana, ben] = [await givenUser(store()), await givenUser(store())];
      const [a1, a2, b1] = [refreshTokenFor(ana), refreshTokenFor(ana, { familyId: unique('fam') }), refreshTokenFor(ben)];
      for (const t of [a1, a2, b1]) await store().insertRefreshToken(t);
      await store().revokeUserTokens(ana.id, T0 + 10, { refreshTokens: false });
      expect((await store().findRefreshToken(a1.tokenHash))?.revokedAt).toBeNull();
      await store().revokeUserTokens(ana.id, T0 + 20, { refreshTokens: true });
      expect((await store().findRefreshToken(a1.tokenHash))?.revokedAt).toBe(T0 + 20);
      expect((await store().findRefreshToken(a2.tokenHash))?.revokedAt).toBe(T0 + 20);
      expect((await store().findRefreshToken(b1.tokenHash))?.revokedAt).toBeNull();
      expect(await store().markRefreshTokenUsed(a1.id, T0 + 30)).toBe(false);
    });
  });

  describe('removing and banning members', () => {
    it('removes a member (not the owner) and answers whether there was one', async () => {
      const owner = await givenUser(store());
      const member = await givenUser(store());
      const room = await givenRoom(store(), owner);
      await store().addMember(room.id, member.id, 'member', T0);
      expect(await store().removeMember(room.id, member.id)).toBe(true);
      expect(await store().isMember(room.id, member.id)).toBe(false);
      expect(await store().removeMember(room.id, member.id)).toBe(false);
      expect(await store().removeMember(room.id, owner.id)).toBe(false);
      expect(await store().isMember(room.id, owner.id)).toBe(true);
    });

    it('bans: the membership ends, the ban is recorded once (idempotent) and only for that room', async () => {
      const owner = await givenUser(store());
      const member = await givenUser(store());
      const [room, other] = [await givenRoom(store(), owner), await givenRoom(store(), owner)];
      await store().addMember(room.id, member.id, 'member', T0);
      expect(await store().isBanned(room.id, member.id)).toBe(false);
      await store().banMember(room.id, member.id, T0);
      await store().banMember(room.id, member.id, T0 + 1);
      expect(await store().isBanned(room.id, member.id)).toBe(true);
      expect(await store().isMember(room.id, member.id)).toBe(false);
      expect(await store().isBanned(other.id, member.id)).toBe(false);
    });

    it('roomAccess answers the room with the user\'s membership and ban in one read, undefined for no room', async () => {
      const owner = await givenUser(store());
      const [member, stranger, banned] = [await givenUser(store()), await givenUser(store()), await givenUser(store())];
      const room = await givenRoom(store(), owner, { visibility: 'private' });
      await store().addMember(room.id, member.id, 'member', T0);
      await store().addMember(room.id, banned.id, 'member', T0);
      await store().banMember(room.id, banned.id, T0);
      expect(await store().roomAccess(room.id, owner.id)).toEqual({ room, member: true, banned: false, accessRev: 1 });
      expect(await store().roomAccess(room.id, member.id)).toEqual({ room, member: true, banned: false, accessRev: 1 });
      expect(await store().roomAccess(room.id, stranger.id)).toEqual({ room, member: false, banned: false, accessRev: 1 });
      expect(await store().roomAccess(room.id, banned.id)).toEqual({ room, member: false, banned: true, accessRev: 1 });
      expect(await store().roomAccess(asRoomId(unique('ghost')), owner.id)).toBeUndefined();
    });

    it('roomAccessMany answers roomAccess of each of any number of users at once, and nothing for no room', async () => {
      const owner = await givenUser(store());
      const [member, banned] = [await givenUser(store()), await givenUser(store())];
      const room = await givenRoom(store(), owner, { visibility: 'private' });
      await store().addMember(room.id, member.id, 'member', T0);
      await store().banMember(room.id, banned.id, T0);
      const strangers = range(1_500).map(() => asUserId(unique('nobody'))); // past one query's chunk of users
      const many = await store().roomAccessMany(room.id, [owner.id, member.id, banned.id, ...strangers, member.id]);
      expect(many.size).toBe(1_503);
      for (const user of [owner.id, member.id, banned.id, strangers[0]!, strangers[1_499]!]) {
        expect(many.get(user)).toEqual(await store().roomAccess(room.id, user));
      }
      expect(many.get(member.id)).toEqual({ room, member: true, banned: false, accessRev: 1 });
      expect(await store().roomAccessMany(asRoomId(unique('ghost')), [owner.id])).toEqual(new Map());
      expect(await store().roomAccessMany(room.id, [])).toEqual(new Map());
    });

    it('the access revision moves with every kick that removed someone and every ban, in that room only', async () => {
      const owner = await givenUser(store());
      const [ana, ben] = [await givenUser(store()), await givenUser(store())];
      const [room, other] = [await givenRoom(store(), owner, { visibility: 'private' }), await givenRoom(store(), owner)];
      const revs = async () => {
        const heads = await store().heads([room.id, other.id]);
        const access = await store().roomAccess(room.id, ana.id);
        expect(access?.accessRev).toBe(heads.get(room.id)?.accessRev); // both reads answer the same revision
        return [heads.get(room.id)?.accessRev, heads.get(other.id)?.accessRev];
      };
      expect(await revs()).toEqual([0, 0]);
      await store().addMember(room.id, ana.id, 'member', T0);
      await store().addMember(room.id, ben.id, 'member', T0);
      expect(await revs()).toEqual([0, 0]); // adding takes no right away
      expect(await store().removeMember(room.id, ana.id)).toBe(true);
      expect(await revs()).toEqual([1, 0]);
      expect(await store().removeMember(room.id, ana.id)).toBe(false);
      expect(await store().removeMember(room.id, owner.id)).toBe(false);
      expect(await revs()).toEqual([1, 0]); // nothing removed, nothing to check again
      await store().banMember(room.id, ben.id, T0);
      expect(await revs()).toEqual([2, 0]);
      await store().banMember(room.id, ana.id, T0); // not a member, but now barred from rejoining a public room
      expect(await revs()).toEqual([3, 0]);
    });
  });
}
