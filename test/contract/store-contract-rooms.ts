/** Store contract, rooms: unique names (case-insensitive), visibility listing, memberships. */
import { describe, expect, it } from 'vitest';
import { asRoomId, asUserId, type Room } from '../../src/core/types.js';
import type { StoreGetter } from './store-contract.js';
import { expectChatError, givenRoom, givenUser, messageFor, range, T0, unique } from './store-fixtures.js';

export function roomContract(store: StoreGetter): void {
  describe('rooms', () => {
    it('creates a room that getRoom answers, with its owner as member', async () => {
      const [owner, other] = await Promise.all([givenUser(store()), givenUser(store())]);
      const room = await givenRoom(store(), owner, { visibility: 'private' });
      expect(await store().getRoom(room.id)).toEqual(room);
      expect(await store().isMember(room.id, owner.id)).toBe(true);
      expect(await store().isMember(room.id, other.id)).toBe(false);
      expect(await store().getRoom(asRoomId(unique('ghost')))).toBeUndefined();
    });

    it('refuses a room name taken in any letter case with ROOM_NAME_TAKEN', async () => {
      const owner = await givenUser(store());
      const name = unique('Lobby-Ünïcode');
      await givenRoom(store(), owner, { name });
      for (const variant of [name, name.toUpperCase(), name.toLowerCase()]) {
        const room: Room = { id: asRoomId(unique('r')), name: variant, visibility: 'public', ownerId: owner.id, createdAt: T0 };
        await expectChatError(store().createRoom(room), 'ROOM_NAME_TAKEN');
        expect(await store().getRoom(room.id)).toBeUndefined();
      }
    });

    it('lets exactly one of concurrent creates of one name win', async () => {
      const owner = await givenUser(store());
      const name = unique('race');
      const rooms = range(10).map((i): Room => ({
        id: asRoomId(unique('r')),
        name: i % 2 ? name.toUpperCase() : name,
        visibility: 'public',
        ownerId: owner.id,
        createdAt: T0,
      }));
      const settled = await Promise.allSettled(rooms.map((room) => store().createRoom(room)));
      expect(settled.filter((s) => s.status === 'fulfilled')).toHaveLength(1);
      for (const s of settled) if (s.status === 'rejected') expect(s.reason).toMatchObject({ code: 'ROOM_NAME_TAKEN' });
    });

    it('refuses a room whose owner does not exist with USER_NOT_FOUND', async () => {
      const room: Room = { id: asRoomId(unique('r')), name: unique('orphan'), visibility: 'public', ownerId: asUserId(unique('ghost')), createdAt: T0 };
      await expectChatError(store().createRoom(room), 'USER_NOT_FOUND');
      expect(await store().getRoom(room.id)).toBeUndefined();
    });

    it('lists public rooms and private rooms of which the user is a member, by name, with member flag and lastSeq', async () => {
      const [owner, reader] = await Promise.all([givenUser(store()), givenUser(store())]);
      const prefix = unique('list');
      const beta = await givenRoom(store(), owner, { name: `${prefix}-beta`, visibility: 'public' });
      const alpha = await givenRoom(store(), owner, { name: `${prefix}-Alpha`, visibility: 'private' });
      const gamma = await givenRoom(store(), owner, { name: `${prefix}-gamma`, visibility: 'private' });
      const delta = await givenRoom(store(), owner, { name: `${prefix}-Delta`, visibility: 'public' });
      await store().addMember(alpha.id, reader.id, 'member', T0);
      await store().addMember(delta.id, reader.id, 'member', T0);
      await store().append(messageFor(beta, owner));
      await store().append(messageFor(beta, owner));
      await store().append(messageFor(gamma, owner));
      const ours = new Set([alpha, beta, gamma, delta].map((room) => room.id));
      const listFor = async (userId: typeof owner.id) =>
        (await store().listRoomsVisibleTo(userId)).filter((summary) => ours.has(summary.id));

      expect(await listFor(reader.id)).toEqual([
        { ...alpha, member: true, lastSeq: 0 },
        { ...beta, member: false, lastSeq: 2 },
        { ...delta, member: true, lastSeq: 0 },
      ]);
      expect(await listFor(owner.id)).toEqual([
        { ...alpha, member: true, lastSeq: 0 },
        { ...beta, member: true, lastSeq: 2 },
        { ...delta, member: true, lastSeq: 0 },
        { ...gamma, member: true, lastSeq: 1 },
      ]);
      const stranger = await givenUser(store());
      expect(await listFor(stranger.id)).toEqual([
        { ...beta, member: false, lastSeq: 2 },
        { ...delta, member: false, lastSeq: 0 },
      ]);
    });

    it('orders the whole list by name, case-insensitively', async () => {
      const owner = await givenUser(store());
      await givenRoom(store(), owner, { name: unique('B') });
      await givenRoom(store(), owner, { name: unique('a') });
      const names = (await store().listRoomsVisibleTo(owner.id)).map((summary) => summary.name.toLowerCase());
      expect(names).toEqual([...names].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y))));
    });
  });

  describe('memberships', () => {
    it('adds a member once: true when new, false when already a member', async () => {
      const [owner, user] = await Promise.all([givenUser(store()), givenUser(store())]);
      const room = await givenRoom(store(), owner, { visibility: 'private' });
      expect(await store().addMember(room.id, user.id, 'member', T0)).toBe(true);
      expect(await store().isMember(room.id, user.id)).toBe(true);
      expect(await store().addMember(room.id, user.id, 'member', T0 + 1)).toBe(false);
      expect(await store().addMember(room.id, owner.id, 'member', T0)).toBe(false);
      const concurrent = await Promise.all(range(5).map(async () => givenUser(store())));
      const added = await Promise.all(concurrent.flatMap((u) => [1, 2].map(() => store().addMember(room.id, u.id, 'member', T0))));
      expect(added.filter(Boolean)).toHaveLength(5);
    });

    it('refuses a membership of an unknown room (ROOM_NOT_FOUND) or user (USER_NOT_FOUND)', async () => {
      const user = await givenUser(store());
      const room = await givenRoom(store(), user);
      await expectChatError(store().addMember(asRoomId(unique('ghost')), user.id, 'member', T0), 'ROOM_NOT_FOUND');
      await expectChatError(store().addMember(room.id, asUserId(unique('ghost')), 'member', T0), 'USER_NOT_FOUND');
      expect(await store().isMember(asRoomId(unique('ghost')), user.id)).toBe(false);
    });
  });
}
