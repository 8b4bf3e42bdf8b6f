/**
 * One room on this instance: the sessions subscribed here and the order in which the broker's messages reach
 * them. The feed keeps `head`, the last seq fanned out; a message that skips ahead (the broker lost one) makes
 * the feed read the missing ones from the store first, once for all its sessions.
 */
import type { Push } from '../protocol/frames.js';
import type { Logger } from './deps.js';
import { NO_METRICS, type Metrics } from './metrics.js';
import type { MessageStore } from './ports.js';
import type { Subscription } from './subscription.js';
import type { Message, RoomId, SessionId } from './types.js';
import { toWireMessage } from './wire.js';

export class RoomFeed {
  readonly subscriptions = new Map<SessionId, Subscription>();
  private head = 0;
  /** The highest seq the store is known to have: the feed reads up to it even if the broker never brings it. */
  private target = 0;
  /** The stored head at the last head check: due by the next one (see syncTo). */
  private checked = 0;
  private queue: Message[] = [];
  /** True until the head is known, and while healing a gap: arrivals wait in `queue`. */
  private held = true;
  /** Publish times (epoch ms) of held messages, by seq, for the publish -> deliver latency. */
  private readonly sentAt = new Map<number, number>();

  constructor(
    readonly room: RoomId,
    private readonly store: MessageStore,
    private readonly log: Logger,
    private readonly pageSize: number,
    private readonly measure: { metrics: Metrics; now: () => number } = { metrics: NO_METRICS, now: () => Date.now() },
  ) {}

  /** Called once the broker subscription is confirmed: messages up to the store's head are not the feed's to send. */
  open(head: number): void {
    this.head = head;
    this.target = Math.max(this.target, head);
    void this.release();
  }

  onMessage(message: Message, sentAt?: number): void {
    if (sentAt !== undefined && (this.held || message.seq !== this.head + 1)) this.sentAt.set(message.seq, sentAt);
    if (this.held) this.queue.push(message);
    else this.accept(message, sentAt);
  }

  /** Ephemeral events go to every session here now, optionally not to one user's own sessions. */
  broadcast(frame: Push, exceptUser?: string): void {
    for (const sub of this.subscriptions.values()) {
      if (sub.session.principal.userId !== exceptUser) sub.session.push(frame);
    }
  }

  private accept(message: Message, sentAt?: number): void {
    if (message.seq <= this.head) {
      this.sentAt.delete(message.seq);
      return;
    }
    if (message.seq === this.head + 1) {
      this.fanOut(message, sentAt);
      return;
    }
    this.held = true;
    this.queue.push(message);
    void this.release();
  }

  private fanOut(message: Message, sentAt?: number): void {
    this.head = message.seq;
    const frame: Push = { type: 'message', message: toWireMessage(message) };
    let pushed = 0;
    for (const sub of this.subscriptions.values()) if (sub.deliver(message, frame)) pushed++;
    const { metrics, now } = this.measure;
    if (pushed > 0) metrics.count('messagesDelivered', { path: 'live' }, pushed);
    const published = sentAt ?? this.sentAt.get(message.seq);
    if (published !== undefined) {
      this.sentAt.delete(message.seq);
      metrics.observe('publishDeliverLatency', Math.max(0, now() - published) / 1000);
    }
  }

  /**
   * The periodic head check (or the broker came back) read the room's stored head. A message committed moments ago
   * may still be on its way through the broker, so a head is only taken as lost if the feed has not reached it by
   * the next check: then the feed reads up to it now, once for all its sessions.
   */
  syncTo(storeHead: number): void {
    const due = this.checked;
    this.checked = Math.max(this.checked, storeHead);
    if (due <= this.target) return;
    this.target = due;
    if (!this.held && due > this.head) {
      this.held = true;
      void this.release();
    }
  }

  /** Delivers queued messages in seq order, first reading from the store whatever is missing in front of them. */
  private async release(): Promise<void> {
    for (;;) {
      this.queue.sort((a, b) => a.seq - b.seq);
      const next = this.queue[0];
      const missingUpTo = next ? next.seq - 1 : this.target;
      if (missingUpTo > this.head) {
        await this.fill(missingUpTo, next);
        continue;
      }
      if (!next) break;
      this.queue.shift();
      if (next.seq === this.head + 1) this.fanOut(next);
    }
    this.sentAt.clear();
    this.held = false;
  }

  private async fill(upTo: number, next: Message | undefined): Promise<void> {
    try {
      this.measure.metrics.count('gapFills');
      const missing = await this.store.readAfter(this.room, this.head, Math.min(this.pageSize, upTo - this.head));
      for (const message of missing) if (message.seq > this.head) this.fanOut(message);
      if (missing.length > 0) return;
      this.log.error({ room: this.room, from: this.head, to: upTo }, 'seqs missing from the store; skipped');
    } catch (err) {
      this.log.warn({ err, room: this.room }, 'gap fill failed; sessions catch up from the store themselves');
    }
    // Give up on this range: sessions that need it read it themselves (their cursor sees the jump).
    if (next) this.head = Math.max(this.head, next.seq - 1);
    this.target = this.head;
  }
}
