/**
 * The rooms a client keeps joined, and per room the highest seq delivered. It decides for every incoming message
 * whether to deliver it (the next seq), drop it (seen already) or treat it as a gap (resume from the last seq).
 */
import type { JoinResult, WireMessage } from '../src/protocol/frames.js';
import type { NatterError } from './errors.js';

export interface RoomState {
  /** The highest seq delivered to listeners (null until the first join answers). */
  lastSeq: number | null;
  /** Joined on the current socket. */
  joined: boolean;
  waiters: Array<{ resolve: (r: JoinResult) => void; reject: (e: NatterError) => void }>;
}

export type Verdict = 'deliver' | 'duplicate' | 'gap' | 'unknown';

export class RoomTracker {
  private readonly rooms = new Map<string, RoomState>();

  /** Adds a room (or moves its resume point to `since`) and returns a promise for its next successful join. */
  want(room: string, since?: number): Promise<JoinResult> {
    let r = this.rooms.get(room);
    if (!r) this.rooms.set(room, (r = { lastSeq: since ?? null, joined: false, waiters: [] }));
    else if (since !== undefined) r.lastSeq = since;
    const state = r;
    return new Promise<JoinResult>((resolve, reject) => state.waiters.push({ resolve, reject }));
  }

  get(room: string): RoomState | undefined {
    return this.rooms.get(room);
  }

  has(room: string): boolean {
    return this.rooms.has(room);
  }

  names(): string[] {
    return [...this.rooms.keys()];
  }

  /** Forgets a room, rejecting whoever waits for its join. */
  drop(room: string, err: NatterError): RoomState | undefined {
    const r = this.rooms.get(room);
    if (!r) return undefined;
    this.rooms.delete(room);
    for (const w of r.waiters.splice(0)) w.reject(err);
    return r;
  }

  /** The `room.join` fields that resume a room exactly after what was delivered. */
  joinFields(room: string): { room: string; since?: number } {
    const lastSeq = this.rooms.get(room)?.lastSeq ?? null;
    return lastSeq === null ? { room } : { room, since: lastSeq };
  }

  /** A join answered: messages after `result.from` follow. */
  joined(r: RoomState, result: JoinResult): void {
    r.lastSeq ??= result.from;
    r.joined = true;
    for (const w of r.waiters.splice(0)) w.resolve(result);
  }

  /** Rejects every pending join (the rooms stay, to be joined again on the next connect). */
  rejectWaiters(err: NatterError): void {
    for (const r of this.rooms.values()) for (const w of r.waiters.splice(0)) w.reject(err);
  }

  disconnected(): void {
    for (const r of this.rooms.values()) r.joined = false;
  }

  /** Judges a pushed message; on 'deliver' it becomes the room's last seq. */
  accept(message: WireMessage): Verdict {
    const r = this.rooms.get(message.room);
    if (!r) return 'unknown';
    if (r.lastSeq !== null && message.seq <= r.lastSeq) return 'duplicate';
    if (r.lastSeq !== null && message.seq > r.lastSeq + 1) return 'gap';
    r.lastSeq = message.seq;
    return 'deliver';
  }
}
