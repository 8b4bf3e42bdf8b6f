/** Sends waiting for their ack, keyed by `client_msg_id`, in the order they were made. */
import type { SendResult } from '../src/protocol/frames.js';
import type { NatterError } from './errors.js';

export interface PendingSend {
  room: string;
  body: string;
  clientMsgId: string;
  /** How many times it has been put on the wire. */
  attempts: number;
  createdAt: number;
}

interface Entry extends PendingSend {
  inFlight: boolean;
  resolve: (result: SendResult) => void;
  reject: (err: NatterError) => void;
}

const prefix = (() => {
  const bytes = new Uint8Array(8);
  globalThis.crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(36).padStart(2, '0')).join('');
})();
let counter = 0;

/**
 * A fresh client_msg_id (fits `[A-Za-z0-9._:-]{1,64}`): the time first — milliseconds in base 36, nine digits, so
 * later ids sort after earlier ones — then a prefix random per page load or process and a counter (unique).
 * Time first is what makes a key cheap to store: the server's idempotency index leads with client_msg_id, so these
 * land at its right edge instead of on a random page (docs/protocol.md, `message.send`).
 */
export const newClientMsgId = (): string =>
  `${Date.now().toString(36).padStart(9, '0')}-${prefix}-${(++counter).toString(36)}`;

export class Outbox {
  private readonly entries = new Map<string, Entry>();

  add(room: string, body: string, clientMsgId = newClientMsgId()): { promise: Promise<SendResult>; entry: PendingSend } {
    const existing = this.entries.get(clientMsgId);
    if (existing) return { promise: new Promise((resolve, reject) => this.chain(existing, resolve, reject)), entry: existing };
    let entry!: Entry;
    const promise = new Promise<SendResult>((resolve, reject) => {
      entry = { room, body, clientMsgId, attempts: 0, createdAt: Date.now(), inFlight: false, resolve, reject };
    });
    this.entries.set(clientMsgId, entry);
    return { promise, entry };
  }

  list(room?: string): PendingSend[] {
    return [...this.entries.values()].filter((e) => room === undefined || e.room === room);
  }

  /** Marks an entry as on the wire; false if it is already, or no longer pending. */
  claim(pending: PendingSend): boolean {
    const e = this.entries.get(pending.clientMsgId);
    if (!e || e.inFlight) return false;
    e.inFlight = true;
    e.attempts++;
    return true;
  }

  release(pending: PendingSend): void {
    const e = this.entries.get(pending.clientMsgId);
    if (e) e.inFlight = false;
  }

  acked(pending: PendingSend, result: SendResult): void {
    const e = this.entries.get(pending.clientMsgId);
    if (!e) return;
    this.entries.delete(e.clientMsgId);
    e.resolve(result);
  }

  reject(pending: PendingSend, err: NatterError): void {
    const e = this.entries.get(pending.clientMsgId);
    if (!e) return;
    this.entries.delete(e.clientMsgId);
    e.reject(err);
  }

  rejectRoom(room: string, err: NatterError): void {
    for (const e of this.list(room)) this.reject(e, err);
  }

  rejectAll(err: NatterError): void {
    for (const e of this.list()) this.reject(e, err);
  }

  /** The socket is gone: nothing is in flight any more (all of it is re-sent after the next join). */
  disconnected(): void {
    for (const e of this.entries.values()) e.inFlight = false;
  }

  private chain(e: Entry, resolve: (r: SendResult) => void, reject: (err: NatterError) => void): void {
    const [res, rej] = [e.resolve, e.reject];
    e.resolve = (r) => (res(r), resolve(r));
    e.reject = (err) => (rej(err), reject(err));
  }
}
