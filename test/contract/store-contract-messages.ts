/** Store contract, messages: seq 1..N without hole, idempotent append, isolation, keyset reads, exact bytes. */
import { describe, expect, it } from 'vitest';
import type { AppendResult } from '../../src/core/ports.js';
import { asMessageId, asRoomId, type Message } from '../../src/core/types.js';
import type { StoreGetter } from './store-contract.js';
import { expectChatError, expectRejectedWith, givenRoom, givenUser, messageFor, range, unique } from './store-fixtures.js';

const seqs = (messages: Message[]) => messages.map((m) => m.seq);
const oneTo = (n: number) => range(n).map((i) => i + 1);

export function messageContract(store: StoreGetter): void {
  describe('append', () => {
    it('assigns seq 1, 2, 3 per room and answers the stored message', async () => {
      const owner = await givenUser(store());
      const room = await givenRoom(store(), owner);
      const inputs = range(3).map((i) => messageFor(room, owner, { body: `m${i}` }));
      const results: AppendResult[] = [];
      for (const input of inputs) results.push(await store().append(input));

      expect(results.map((r) => r.duplicate)).toEqual([false, false, false]);
      expect(results.map((r) => r.message)).toEqual(inputs.map((input, i) => ({ ...input, seq: i + 1 })));
      expect(await store().readAfter(room.id, 0, 10)).toEqual(results.map((r) => r.message));
      expect(await store().head(room.id)).toBe(3);
    });

    it('gives each room 1..N with no hole and no duplicate under 1,000 concurrent appends over 10 rooms', async () => {
      const senders = await Promise.all(range(4).map(() => givenUser(store())));
      const rooms = await Promise.all(range(10).map((i) => givenRoom(store(), senders[i % 4]!)));
      const inputs = range(1_000).map((i) => messageFor(rooms[i % 10]!, senders[i % 4]!, { body: `#${i}` }));

      const results = await Promise.all(inputs.map((input) => store().append(input)));

      expect(results.every((r) => !r.duplicate)).toBe(true);
      results.forEach((r, i) => expect(r.message).toEqual({ ...inputs[i], seq: r.message.seq }));
      for (const room of rooms) {
        const acked = results.filter((r) => r.message.roomId === room.id).map((r) => r.message);
        expect(acked.map((m) => m.seq).sort((a, b) => a - b)).toEqual(oneTo(100));
        expect(await store().head(room.id)).toBe(100);
        const stored = await store().readAfter(room.id, 0, 1_000);
        expect(seqs(stored)).toEqual(oneTo(100));
        expect(stored).toEqual([...acked].sort((a, b) => a.seq - b.seq));
      }
    });

    it('stores one row for concurrent and later retries of a clientMsgId, answering the first message', async () => {
      const user = await givenUser(store());
      const room = await givenRoom(store(), user);
      const attempts = range(20).map((i) => messageFor(room, user, { clientMsgId: 'same-id', body: `attempt ${i}` }));

      const concurrent = await Promise.all(attempts.map((input) => store().append(input)));
      const first = concurrent.find((r) => !r.duplicate)!.message;
      expect(concurrent.filter((r) => !r.duplicate)).toHaveLength(1);
      expect(first.seq).toBe(1);
      expect(attempts.map((a) => ({ ...a, seq: 1 }))).toContainEqual(first);
      for (const result of concurrent) expect(result.message).toEqual(first);

      for (const i of range(3)) {
        const retry = await store().append(messageFor(room, user, { clientMsgId: 'same-id', body: `late ${i}` }));
        expect(retry).toEqual({ message: first, duplicate: true });
      }
      expect(await store().readAfter(room.id, 0, 100)).toEqual([first]);
      expect(await store().head(room.id)).toBe(1);
      // Duplicates consume no seq.
      expect((await store().append(messageFor(room, user))).message.seq).toBe(2);
    });

    it('scopes idempotency to (room, sender, clientMsgId); null clientMsgId never deduplicates', async () => {
      const [alice, bob] = await Promise.all([givenUser(store()), givenUser(store())]);
      const [room, other] = await Promise.all([givenRoom(store(), alice), givenRoom(store(), alice)]);
      const a = await store().append(messageFor(room, alice, { clientMsgId: 'k' }));
      const b = await store().append(messageFor(room, bob, { clientMsgId: 'k' }));
      const c = await store().append(messageFor(other, alice, { clientMsgId: 'k' }));
      const system = { type: 'system' as const, clientMsgId: null };
      const [s1, s2] = await Promise.all([
        store().append(messageFor(room, alice, system)),
        store().append(messageFor(room, alice, system)),
      ]);

      expect([a, b, c, s1, s2].map((r) => r.duplicate)).toEqual([false, false, false, false, false]);
      expect([a, b].map((r) => r.message.seq)).toEqual([1, 2]);
      expect(c.message.seq).toBe(1);
      expect([s1!.message.seq, s2!.message.seq].sort()).toEqual([3, 4]);
      expect(s1!.message).toMatchObject({ type: 'system', clientMsgId: null });
      expect(await store().head(room.id)).toBe(4);
    });

    it('rejects an append to an unknown room with ROOM_NOT_FOUND without failing the others', async () => {
      const user = await givenUser(store());
      const room = await givenRoom(store(), user);
      const ghost = asRoomId(unique('ghost'));
      const inputs = range(12).map((i) => messageFor(i % 3 === 1 ? { ...room, id: ghost } : room, user));

      const settled = await Promise.allSettled(inputs.map((input) => store().append(input)));

      const fulfilled: AppendResult[] = [];
      for (const [i, outcome] of settled.entries()) {
        if (i % 3 === 1) expectRejectedWith(outcome, 'ROOM_NOT_FOUND');
        else if (outcome.status === 'fulfilled') fulfilled.push(outcome.value);
      }
      expect(fulfilled.map((r) => r.message.seq).sort((x, y) => x - y)).toEqual(oneTo(8));
      expect(await store().head(room.id)).toBe(8);
      expect(await store().head(ghost)).toBe(0);
      expect(await store().readAfter(ghost, 0, 10)).toEqual([]);
    });

    it('rejects text with NUL or a lone surrogate (VALIDATION_FAILED) without failing the others', async () => {
      const user = await givenUser(store());
      const room = await givenRoom(store(), user);
      const bad = [
        messageFor(room, user, { body: 'nul \u0000 inside' }),
        messageFor(room, user, { body: 'lone \ud800 surrogate' }),
        messageFor(room, user, { senderName: 'bad\udc00name' }),
        messageFor(room, user, { clientMsgId: 'nul\u0000id' }),
      ];
      const good = messageFor(room, user, { body: 'fine 👍' });
      const settled = await Promise.allSettled([...bad, good].map((input) => store().append(input)));
      for (const outcome of settled.slice(0, bad.length)) expectRejectedWith(outcome, 'VALIDATION_FAILED');
      expect(settled[bad.length]).toMatchObject({ status: 'fulfilled', value: { message: { seq: 1 } } });
      expect(await store().head(room.id)).toBe(1);
    });

    it('stores text byte-exact', async () => {
      const user = await givenUser(store(), unique('ünï-👩🏽‍💻'));
      const room = await givenRoom(store(), user, { name: unique('Café ☕ שלום') });
      const bodies = [
        '🎉👨‍👩‍👧‍👦🇫🇷 emoji, ZWJ sequences and flags',
        '<img src=x onerror=alert(1)>',
        `"double" 'single' \`back\` \\backslash\\ ; DROP TABLE messages; --`,
        'line one\nline two\r\nline three\ttabbed\u000b\u001f',
        'مرحبا بالعالم — שלום עולם \u202Eevil\u202C',
        '   leading and trailing spaces   ',
        '',
        'é precomposed vs e\u0301 combining; \u{10FFFF} \uFFFD \u00A0',
        'x'.repeat(65_536),
      ];
      const results = await Promise.all(bodies.map((body, i) => store().append(messageFor(room, user, { body, clientMsgId: `ü-${i}` }))));
      const stored = await store().readAfter(room.id, 0, 100);
      expect(stored).toEqual([...results.map((r) => r.message)].sort((a, b) => a.seq - b.seq));
      expect(new Set(stored.map((m) => m.body))).toEqual(new Set(bodies));
      for (const m of stored) expect(Buffer.from(m.body)).toEqual(Buffer.from(bodies[Number(m.clientMsgId!.slice(2))]!));
      expect(stored[0]!.senderName).toBe(user.username);
      expect((await store().getRoom(room.id))?.name).toBe(room.name);
    });

    it('rejects appends with UNAVAILABLE (temporary) once closed', async () => {
      const user = await givenUser(store());
      const room = await givenRoom(store(), user);
      await store().close();
      const error = await expectChatError(store().append(messageFor(room, user)), 'UNAVAILABLE');
      expect(error.temporary).toBe(true);
    });
  });

  describe('reads', () => {
    async function roomWith(count: number) {
      const user = await givenUser(store());
      const room = await givenRoom(store(), user);
      await Promise.all(range(count).map((i) => store().append(messageFor(room, user, { body: `${i}`, id: asMessageId(unique(`m${i}`)) }))));
      return room;
    }

    it('readAfter pages forward with seq > after, ascending, at most limit', async () => {
      const room = await roomWith(25);
      expect(seqs(await store().readAfter(room.id, 0, 10))).toEqual(oneTo(10));
      expect(seqs(await store().readAfter(room.id, 10, 10))).toEqual(range(10).map((i) => i + 11));
      expect(seqs(await store().readAfter(room.id, 20, 10))).toEqual([21, 22, 23, 24, 25]);
      expect(await store().readAfter(room.id, 25, 10)).toEqual([]);
      expect(await store().readAfter(room.id, 1_000, 10)).toEqual([]);
      expect(await store().readAfter(room.id, 0, 0)).toEqual([]);
      expect(seqs(await store().readAfter(room.id, 24, 1))).toEqual([25]);
    });

    it('readBefore pages backward with seq < before, answered ascending, at most limit', async () => {
      const room = await roomWith(25);
      expect(seqs(await store().readBefore(room.id, Number.MAX_SAFE_INTEGER, 10))).toEqual(range(10).map((i) => i + 16));
      expect(seqs(await store().readBefore(room.id, 26, 10))).toEqual(range(10).map((i) => i + 16));
      expect(seqs(await store().readBefore(room.id, 16, 10))).toEqual(range(10).map((i) => i + 6));
      expect(seqs(await store().readBefore(room.id, 6, 10))).toEqual([1, 2, 3, 4, 5]);
      expect(await store().readBefore(room.id, 1, 10)).toEqual([]);
      expect(await store().readBefore(room.id, 0, 10)).toEqual([]);
      expect(await store().readBefore(room.id, 20, 0)).toEqual([]);
      expect(seqs(await store().readBefore(room.id, 3, 100))).toEqual([1, 2]);
    });

    it('heads answers the last seq and access revision of each known room in one call, leaving unknown rooms out', async () => {
      const user = await givenUser(store());
      const [busy, quiet] = await Promise.all([givenRoom(store(), user), givenRoom(store(), user)]);
      await Promise.all(range(7).map(() => store().append(messageFor(busy, user))));
      const ghost = asRoomId(unique('ghost'));
      expect(await store().heads([busy.id, quiet.id, ghost, busy.id])).toEqual(
        new Map([
          [busy.id, { seq: 7, accessRev: 0 }],
          [quiet.id, { seq: 0, accessRev: 0 }],
        ]),
      );
      expect(await store().heads([])).toEqual(new Map());
    });

    it('answers nothing and head 0 for a room without messages or unknown', async () => {
      const user = await givenUser(store());
      const room = await givenRoom(store(), user);
      for (const id of [room.id, asRoomId(unique('ghost'))]) {
        expect(await store().head(id)).toBe(0);
        expect(await store().readAfter(id, 0, 10)).toEqual([]);
        expect(await store().readBefore(id, 10, 10)).toEqual([]);
      }
    });
  });
}
