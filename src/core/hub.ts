/**
 * The local room index: room -> feed -> subscriptions. The instance holds one broker subscription per room with
 * local members, taken when the first session arrives and dropped when the last leaves.
 */
import type { Logger } from './deps.js';
import { NO_METRICS, type Metrics } from './metrics.js';
import type { Broker, Envelope, MessageStore, RoomHead } from './ports.js';
import { RoomFeed } from './room-feed.js';
import type { SessionPort } from './session.js';
import { Subscription } from './subscription.js';
import type { RoomId } from './types.js';

interface HubDeps {
  broker: Broker;
  store: MessageStore;
  log: Logger;
  pageSize: number;
  metrics?: Metrics;
  /** Wall clock (epoch ms) for publish -> deliver latency; defaults to Date.now. */
  now?: () => number;
}

export class Hub {
  private readonly feeds = new Map<RoomId, { feed: RoomFeed; ready: Promise<void> }>();

  private readonly measure: { metrics: Metrics; now: () => number };

  constructor(private readonly deps: HubDeps) {
    this.measure = { metrics: deps.metrics ?? NO_METRICS, now: deps.now ?? (() => Date.now()) };
  }

  /** Rooms with local sessions (empty when everyone has left). */
  get roomCount(): number {
    return this.feeds.size;
  }

  /** The rooms this instance holds a broker subscription for. */
  roomIds(): RoomId[] {
    return [...this.feeds.keys()];
  }

  /** Lets every feed that is behind its room's stored head catch up (see RoomFeed.syncTo). */
  syncHeads(heads: Map<RoomId, RoomHead>): void {
    for (const [room, head] of heads) this.feeds.get(room)?.feed.syncTo(head.seq);
  }

  /** Per room, the subscriptions authorized at an older access revision than the room's (RoomStore): to check again. */
  behindAccess(heads: Map<RoomId, RoomHead>): Map<RoomId, Subscription[]> {
    const behind = new Map<RoomId, Subscription[]>();
    for (const [room, head] of heads) {
      for (const subscription of this.feeds.get(room)?.feed.subscriptions.values() ?? []) {
        if (subscription.accessRev >= head.accessRev) continue;
        const stale = behind.get(room);
        if (stale) stale.push(subscription);
        else behind.set(room, [subscription]);
      }
    }
    return behind;
  }

  /**
   * Subscribes a session to a room. The subscription buffers live messages until `start` is called on it;
   * resolves once the broker subscription is confirmed, so nothing published from then on can be missed.
   * `accessRev`: the room's access revision at which the session's right to read it was checked.
   */
  async attach(room: RoomId, session: SessionPort, accessRev: number): Promise<Subscription> {
    let entry = this.feeds.get(room);
    if (!entry) {
      const feed = new RoomFeed(room, this.deps.store, this.deps.log, this.deps.pageSize, this.measure);
      const ready = this.deps.broker
        .subscribe(room)
        .then(() => this.deps.store.head(room))
        .then((head) => feed.open(head));
      const created = { feed, ready };
      this.feeds.set(room, created);
      ready.catch(() => {
        if (this.feeds.get(room) === created && created.feed.subscriptions.size === 0) this.feeds.delete(room);
      });
      entry = created;
    }
    const subscription = new Subscription(session, room, { store: this.deps.store, pageSize: this.deps.pageSize, log: this.deps.log, metrics: this.measure.metrics });
    subscription.accessRev = accessRev;
    entry.feed.subscriptions.set(session.id, subscription);
    try {
      await entry.ready;
    } catch (err) {
      this.detach(subscription);
      throw err;
    }
    return subscription;
  }

  detach(subscription: Subscription): void {
    subscription.close();
    const entry = this.feeds.get(subscription.room);
    if (!entry || entry.feed.subscriptions.get(subscription.session.id) !== subscription) return;
    entry.feed.subscriptions.delete(subscription.session.id);
    if (entry.feed.subscriptions.size > 0) return;
    this.feeds.delete(subscription.room);
    this.deps.broker
      .unsubscribe(subscription.room)
      .catch((err: unknown) => this.deps.log.warn({ err, room: subscription.room }, 'unsubscribe failed'));
  }

  /** The one receive handler for envelopes from the broker. */
  dispatch(envelope: Envelope): void {
    const feed = this.feeds.get(envelope.room)?.feed;
    if (!feed) return;
    switch (envelope.kind) {
      case 'message':
        feed.onMessage(envelope.message, envelope.sentAt);
        break;
      case 'presence':
        feed.broadcast({ type: envelope.event === 'joined' ? 'presence.joined' : 'presence.left', room: envelope.room, user: envelope.user });
        break;
      case 'typing':
        feed.broadcast({ type: 'typing', room: envelope.room, user: envelope.user }, envelope.user.id);
        break;
    }
  }
}
