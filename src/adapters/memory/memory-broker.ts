import type { Broker, ControlEvent, Envelope } from '../../core/ports.js';
import type { RoomId } from '../../core/types.js';

/**
 * The in-process broker for a single node: envelopes for subscribed rooms reach the handler asynchronously
 * (never inside publish; batched per microtask checkpoint), in publish order. Unlike Redis it never loses one.
 */
export class MemoryBroker implements Broker {
  private handler: ((envelope: Envelope) => void) | undefined;
  private controlHandler: ((event: ControlEvent) => void) | undefined;
  private readonly rooms = new Set<RoomId>();
  private queue: Envelope[] = [];
  private scheduled = false;
  private closed = false;

  async publish(room: RoomId, envelope: Envelope): Promise<void> {
    if (this.closed || !this.rooms.has(room)) return;
    this.queue.push(envelope);
    if (!this.scheduled) {
      this.scheduled = true;
      queueMicrotask(() => this.flush());
    }
  }

  async subscribe(room: RoomId): Promise<void> {
    this.rooms.add(room);
  }

  async unsubscribe(room: RoomId): Promise<void> {
    this.rooms.delete(room);
  }

  onEnvelope(handler: (envelope: Envelope) => void): void {
    if (this.handler) throw new Error('MemoryBroker: onEnvelope may be called once');
    this.handler = handler;
  }

  /** Delivered asynchronously (never inside publishControl), in publish order. */
  async publishControl(event: ControlEvent): Promise<void> {
    if (this.closed) return;
    queueMicrotask(() => {
      if (!this.closed) this.controlHandler?.(event);
    });
  }

  onControl(handler: (event: ControlEvent) => void): void {
    if (this.controlHandler) throw new Error('MemoryBroker: onControl may be called once');
    this.controlHandler = handler;
  }

  /** The in-process broker never loses its subscriptions. */
  onRestored(_handler: () => void): void {}

  async probe(_timeoutMs: number): Promise<void> {
    if (this.closed) throw new Error('broker closed');
  }

  async close(): Promise<void> {
    this.closed = true;
    this.queue = [];
  }

  private flush(): void {
    this.scheduled = false;
    const batch = this.queue;
    this.queue = [];
    for (const envelope of batch) {
      if (this.rooms.has(envelope.room)) this.handler?.(envelope);
    }
  }
}
