/**
 * One contract for every Broker and Presence adapter. `make` gives two instances ("a" and "b") that share the
 * medium as two natter processes would (for the in-process adapters both are the same object: one node).
 */
import { describe, expect, it } from 'vitest';
import type { Broker, ControlEvent, Envelope, Presence } from '../../src/core/ports.js';
import { asMessageId, asRoomId, asSessionId, asUserId, type Principal, type RoomId } from '../../src/core/types.js';

export interface FanOutPair {
  a: { broker: Broker; presence: Presence };
  b: { broker: Broker; presence: Presence };
  /** Whether a and b are separate instances (presence leases can expire between them). */
  distributed: boolean;
  /** Simulates a crash of a: its leases stop being renewed (nothing is removed). */
  crashA?: () => Promise<void>;
  leaseMs?: number;
  cleanup(): Promise<void>;
}

let n = 0;
const room = (): RoomId => asRoomId(`room${process.pid}x${++n}x${Math.random().toString(36).slice(2, 8)}`);
const user = (name: string): Principal => ({ userId: asUserId(`id-${name}-${n}`), username: name });

const message = (r: RoomId, seq: number): Envelope => ({
  kind: 'message',
  room: r,
  message: {
    id: asMessageId(`m${seq}`),
    roomId: r,
    seq,
    senderId: asUserId('u1'),
    senderName: 'ana',
    type: 'text',
    body: `body ${seq} ✓ <b>`,
    clientMsgId: `k${seq}`,
    createdAt: 1_700_000_000_000 + seq,
  },
});

/** Collects envelopes per broker; `until` waits (bounded) for a condition on them. */
function collector(broker: Broker) {
  const got: Envelope[] = [];
  let wake: (() => void) | undefined;
  broker.onEnvelope((e) => {
    got.push(e);
    wake?.();
  });
  return {
    got,
    async until(test: () => boolean, ms = 5_000) {
      const deadline = Date.now() + ms;
      while (!test()) {
        if (Date.now() > deadline) throw new Error(`timed out; got ${got.length} envelopes`);
        await new Promise<void>((resolve) => {
          wake = resolve;
          setTimeout(resolve, 100);
        });
      }
    },
  };
}

export function runFanOutContract(name: string, make: () => Promise<FanOutPair>, options: { leases: boolean }): void {
  describe(`Broker + Presence contract: ${name}`, () => {
    it('delivers to every subscribed instance, the publisher included, in publish order, byte-exact', async () => {
      const pair = await make();
      try {
        const ca = collector(pair.a.broker);
        const cb = pair.distributed ? collector(pair.b.broker) : ca;
        const r = room();
        await pair.a.broker.subscribe(r);
        if (pair.distributed) await pair.b.broker.subscribe(r);
        for (let seq = 1; seq <= 200; seq++) void pair.a.broker.publish(r, message(r, seq));
        await ca.until(() => ca.got.length >= 200);
        await cb.until(() => cb.got.length >= 200);
        for (const c of [ca, cb]) {
          expect(c.got.map((e) => (e.kind === 'message' ? e.message.seq : -1))).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
        }
        expect(cb.got[0]).toEqual(message(r, 1));
      } finally {
        await pair.cleanup();
      }
    });

    it('sends nothing for rooms an instance is not subscribed to, and stops after unsubscribe', async () => {
      const pair = await make();
      try {
        const ca = collector(pair.a.broker);
        const [r1, r2] = [room(), room()];
        await pair.a.broker.subscribe(r1);
        await pair.b.broker.publish(r2, message(r2, 1));
        await pair.b.broker.publish(r1, message(r1, 1));
        await ca.until(() => ca.got.length >= 1);
        await pair.a.broker.unsubscribe(r1);
        await pair.b.broker.publish(r1, message(r1, 2));
        // A fresh subscription on another room proves the pipe still flows and nothing else arrived meanwhile.
        const r3 = room();
        await pair.a.broker.subscribe(r3);
        await pair.b.broker.publish(r3, message(r3, 1));
        await ca.until(() => ca.got.length >= 2);
        expect(ca.got.map((e) => [e.room, e.kind === 'message' ? e.message.seq : 0])).toEqual([
          [r1, 1],
          [r3, 1],
        ]);
      } finally {
        await pair.cleanup();
      }
    });

    it('carries presence and typing envelopes', async () => {
      const pair = await make();
      try {
        const cb = collector(pair.b.broker);
        const r = room();
        await pair.b.broker.subscribe(r);
        const ana = { id: 'u-ana', name: 'ana' };
        await pair.a.broker.publish(r, { kind: 'presence', room: r, event: 'joined', user: ana });
        await pair.a.broker.publish(r, { kind: 'typing', room: r, user: ana });
        await cb.until(() => cb.got.length >= 2);
        expect(cb.got).toEqual([
          { kind: 'presence', room: r, event: 'joined', user: ana },
          { kind: 'typing', room: r, user: ana },
        ]);
      } finally {
        await pair.cleanup();
      }
    });

    it('delivers control events to every instance, the publisher included, in publish order', async () => {
      const pair = await make();
      try {
        const got = { a: [] as ControlEvent[], b: [] as ControlEvent[] };
        pair.a.broker.onControl((e) => got.a.push(e));
        if (pair.distributed) pair.b.broker.onControl((e) => got.b.push(e));
        const events: ControlEvent[] = [
          { kind: 'user.revoked', user: asUserId('u-1'), reason: 'logout' },
          { kind: 'room.removed', room: room(), user: asUserId('u-2'), reason: 'banned' },
          { kind: 'user.revoked', user: asUserId('u-3'), reason: 'admin' },
        ];
        for (const e of events) await pair.a.broker.publishControl(e);
        const deadline = Date.now() + 5_000;
        while (got.a.length < 3 || (pair.distributed && got.b.length < 3)) {
          if (Date.now() > deadline) throw new Error(`control events: a ${got.a.length}, b ${got.b.length}`);
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
        expect(got.a).toEqual(events);
        if (pair.distributed) expect(got.b).toEqual(events);
      } finally {
        await pair.cleanup();
      }
    });

    it('answers a readiness probe', async () => {
      const pair = await make();
      try {
        await expect(pair.a.broker.probe(2_000)).resolves.toBeUndefined();
      } finally {
        await pair.cleanup();
      }
    });

    it('counts a user once across sessions and instances: first add and last remove say so', async () => {
      const pair = await make();
      try {
        const r = room();
        const ana = user('ana');
        const ben = user('ben');
        expect(await pair.a.presence.add(r, ana, asSessionId('s1'))).toBe(true);
        expect(await pair.b.presence.add(r, ana, asSessionId('s2'))).toBe(false);
        expect(await pair.a.presence.add(r, ben, asSessionId('s3'))).toBe(true);
        expect((await pair.b.presence.list(r)).map((p) => p.username).sort()).toEqual(['ana', 'ben']);
        expect(await pair.a.presence.remove(r, ana.userId, asSessionId('s1'))).toBe(false);
        expect(await pair.a.presence.remove(r, ana.userId, asSessionId('s1'))).toBe(false); // idempotent
        expect(await pair.b.presence.remove(r, ana.userId, asSessionId('s2'))).toBe(true);
        expect(await pair.a.presence.list(r)).toEqual([ben]);
        expect(await pair.a.presence.remove(r, ben.userId, asSessionId('s3'))).toBe(true);
        expect(await pair.a.presence.list(r)).toEqual([]);
        expect(await pair.a.presence.expire([r])).toEqual([]);
      } finally {
        await pair.cleanup();
      }
    });

    if (options.leases) it('expires the sessions of a crashed instance, reporting each departure once', async () => {
      const pair = await make();
      try {
        const r = room();
        const ana = user('ana');
        const ben = user('ben');
        await pair.a.presence.add(r, ana, asSessionId('s1'));
        await pair.a.presence.add(r, ben, asSessionId('s2'));
        await pair.b.presence.add(r, ben, asSessionId('s3')); // ben is also connected through b
        await pair.crashA!();
        const deadline = Date.now() + pair.leaseMs! * 3;
        let left: Array<{ room: RoomId; user: Principal }> = [];
        while (left.length === 0) {
          if (Date.now() > deadline) throw new Error('leases never expired');
          await new Promise((resolve) => setTimeout(resolve, pair.leaseMs! / 4));
          left = await pair.b.presence.expire([r]);
        }
        expect(left).toEqual([{ room: r, user: ana }]);
        expect(await pair.b.presence.expire([r])).toEqual([]);
        expect(await pair.b.presence.list(r)).toEqual([ben]);
      } finally {
        await pair.cleanup();
      }
    });
  });
}
