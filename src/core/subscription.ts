/**
 * One session's view of one room: a cursor (last seq pushed) and a catch-up phase. While catching up from the
 * store, live messages wait in `pending`; afterwards a message is pushed only if it is exactly cursor + 1, so the
 * session sees every seq once, in order, with no gap at the seam between history and live.
 */
import type { Push } from '../protocol/frames.js';
import type { Logger } from './deps.js';
import type { Metrics } from './metrics.js';
import type { MessageStore } from './ports.js';
import type { SessionPort } from './session.js';
import type { Message, RoomId } from './types.js';
import { toWireMessage } from './wire.js';

export interface CatchUpOptions {
  store: MessageStore;
  pageSize: number;
  log: Logger;
  metrics?: Metrics;
}

const RETRY_MS = [250, 500, 1000, 2000, 5000];

export class Subscription {
  private cursor = 0;
  private catchingUp = true;
  private pending: Message[] = [];
  private closed = false;
  /** The room's access revision (RoomStore) when the session's right to read it was last checked. */
  accessRev = 0;

  constructor(
    readonly session: SessionPort,
    readonly room: RoomId,
    private readonly options: CatchUpOptions,
  ) {}

  get position(): number {
    return this.cursor;
  }

  /** Starts replay after `from` (exclusive), then goes live. */
  start(from: number): void {
    this.cursor = from;
    void this.catchUp();
  }

  close(): void {
    this.closed = true;
    this.pending = [];
  }

  /** Answers true when the message was pushed now (false: already had it, or buffered behind a catch-up). */
  deliver(message: Message, frame: Push): boolean {
    if (this.closed || message.seq <= this.cursor) return false;
    if (this.catchingUp) {
      this.pending.push(message);
    } else if (message.seq === this.cursor + 1) {
      this.cursor = message.seq;
      this.session.push(frame);
      return true;
    } else {
      this.pending.push(message);
      this.catchingUp = true;
      void this.catchUp();
    }
    return false;
  }

  private pushStored(message: Message): void {
    this.cursor = message.seq;
    this.session.push({ type: 'message', message: toWireMessage(message) });
    this.options.metrics?.count('messagesDelivered', { path: 'replay' });
  }

  private async catchUp(): Promise<void> {
    const { store, pageSize, log } = this.options;
    let failures = 0;
    let stalled = false;
    while (!this.closed) {
      let page: Message[];
      try {
        page = await store.readAfter(this.room, this.cursor, pageSize);
        failures = 0;
      } catch (err) {
        const wait = RETRY_MS[Math.min(failures++, RETRY_MS.length - 1)];
        log.warn({ err, room: this.room, session: this.session.id }, 'catch-up read failed; retrying');
        await new Promise((resolve) => setTimeout(resolve, wait));
        continue;
      }
      if (this.closed) return;
      // Wait for the socket to drain between messages of a page, so a replay never queues more than about
      // the drain threshold (the transport closes a socket with 1 MiB queued as a slow consumer).
      for (const message of page) {
        if (message.seq > this.cursor) this.pushStored(message);
        await this.session.drained();
        if (this.closed) return;
      }
      if (page.length === pageSize) continue;
      if (this.drainPending(stalled && page.length === 0)) {
        this.catchingUp = false;
        return;
      }
      stalled = page.length === 0;
    }
  }

  /**
   * Pushes pending live messages that continue the cursor. Answers false when one is still missing in between
   * (read the store again). `skipHole` is set when the store had nothing new twice: never wait forever on a seq
   * that cannot arrive; log it loudly instead.
   */
  private drainPending(skipHole: boolean): boolean {
    const waiting = this.pending.sort((a, b) => a.seq - b.seq);
    this.pending = [];
    for (let i = 0; i < waiting.length; i++) {
      const message = waiting[i]!;
      if (message.seq <= this.cursor) continue;
      if (message.seq !== this.cursor + 1 && !skipHole) {
        this.pending = waiting.slice(i);
        return false;
      }
      if (message.seq !== this.cursor + 1) {
        this.options.log.error({ room: this.room, from: this.cursor, to: message.seq }, 'seq hole in store; skipped');
      }
      this.cursor = message.seq;
      this.session.push({ type: 'message', message: toWireMessage(message) });
      this.options.metrics?.count('messagesDelivered', { path: 'replay' });
    }
    return true;
  }
}
