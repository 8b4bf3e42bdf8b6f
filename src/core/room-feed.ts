/**
 * One room on this instance: the sessions subscribed here and the order in which the broker's messages reach
 * them. The feed keeps `head`, the last seq fanned out; a message that skips ahead (the broker lost one) makes
 * the feed read the missing ones from the store first, once for all its sessions.
 */
import type { Push } from '../protocol/frames.js';
import type { Logger } from './deps.js';
import type { MessageStore } from './ports.js';
import type { Subscription } from './subscription.js';
import type { Message, RoomId, SessionId } from './types.js';
import { toWireMessage } from './wire.js';

export class RoomFeed {
  readonly subscriptions = new Map<SessionId, Subscription>();
  private head = 0;
  private queue: Message[] = [];
  /** True until the head is known, and while healing a gap: arrivals wait in `queue`. */
  private held = true;

  constructor(
    readonly room: RoomId,
    private readonly store: MessageStore,
    private readonly log: Logger,
    private readonly pageSize: number,
  ) {}

  /** Called once the broker subscription is confirmed: messages up to the store's head are not the feed's to send. */
  open(head: number): void {
    this.head = head;
    void this.release();
  }

  onMessage(message: Message): void {
    if (this.held) this.queue.push(message);
    else this.accept(message);
  }

  /** Ephemeral events go to every session here now, optionally not to one user's own sessions. */
  broadcast(frame: Push, exceptUser?: string): void {
    for (const sub of this.subscriptions.values()) {
      if (sub.session.principal.userId !== exceptUser) sub.session.push(frame);
    }
  }

  private accept(message: Message): void {
    if (message.seq <= this.head) return;
    if (message.seq === this.head + 1) {
      this.fanOut(message);
      return;
    }
    this.held = true;
    this.queue.push(message);
    void this.release();
  }

  private fanOut(message: Message): void {
    this.head = message.seq;
    const frame: Push = { type: 'message', message: toWireMessage(message) };
    for (const sub of this.subscriptions.values()) sub.deliver(message, frame);
  }

  /** Delivers queued messages in seq order, filling any gap in front of them from the store. */
  private async release(): Promise<void> {
    while (this.queue.length > 0) {
      this.queue.sort((a, b) => a.seq - b.seq);
      const next = this.queue[0]!;
      if (next.seq > this.head + 1) {
        try {
          const missing = await this.store.readAfter(this.room, this.head, Math.min(this.pageSize, next.seq - this.head - 1));
          if (missing.length === 0) {
            this.log.error({ room: this.room, from: this.head, to: next.seq }, 'gap not in store; skipped');
            this.head = next.seq - 1;
          }
          for (const message of missing) if (message.seq > this.head) this.fanOut(message);
        } catch (err) {
          this.log.warn({ err, room: this.room }, 'gap fill failed; sessions will catch up from the store');
          this.head = next.seq - 1;
        }
        continue;
      }
      this.queue.shift();
      if (next.seq === this.head + 1) this.fanOut(next);
    }
    this.held = false;
  }
}
