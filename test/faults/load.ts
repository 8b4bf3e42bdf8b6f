/**
 * Steady chat load for fault tests, and the delivery audit afterwards. Each sender sends at a fixed rate and
 * retries every unacked message with its original client_msg_id (after a temporary error or a timeout) until it
 * is acked — what the SDK does. The audit checks every receiver got every acked seq once, in order.
 */
import { expect } from 'vitest';
import type { TestClient } from '../support/ws-client.js';

/** What the load needs of a sender: TestClient, or an SDK client behind an adapter (F8). */
export type LoadSender = Pick<TestClient, 'request'>;
/** What the audit needs of a receiver. */
export interface LoadReceiver {
  waitForSeq(room: string, seq: number, timeoutMs?: number): Promise<void>;
  messages(room: string): Array<{ seq: number }>;
}

export interface LoadOptions {
  room: string;
  senders: LoadSender[];
  receivers: LoadReceiver[];
  /** Messages per second per sender. */
  rate: number;
  /** How long to wait for one ack before retrying. */
  ackTimeoutMs?: number;
}

export interface LoadReport {
  sent: number;
  acked: number;
  retries: number;
  errors: Record<string, number>;
  receivedPerClient: number[];
  lost: number;
  duplicated: number;
  outOfOrder: number;
  head: number;
}

export class ChatLoad {
  private timers: NodeJS.Timeout[] = [];
  private readonly outstanding = new Set<Promise<void>>();
  private readonly acked = new Map<string, number>(); // client_msg_id -> seq
  private sent = 0;
  private retries = 0;
  private stopped = false;
  private readonly errors: Record<string, number> = {};

  constructor(private readonly options: LoadOptions) {}

  start(): void {
    const interval = 1000 / this.options.rate;
    this.options.senders.forEach((sender, si) => {
      let n = 0;
      this.timers.push(
        setInterval(() => {
          if (this.stopped) return;
          const id = `load-${si}-${++n}`;
          this.sent++;
          this.track(this.deliver(sender, id));
        }, interval),
      );
    });
  }

  /** Acked so far (for progress figures while a fault is on). */
  get ackedCount(): number {
    return this.acked.size;
  }

  errorCount(code: string): number {
    return this.errors[code] ?? 0;
  }

  /** Stops new sends and waits (bounded) for every sent message to be acked. */
  async stop(drainMs = 30_000): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) clearInterval(t);
    const deadline = Date.now() + drainMs;
    while (this.outstanding.size > 0) {
      if (Date.now() > deadline) throw new Error(`${this.outstanding.size} sends still unacked after ${drainMs} ms`);
      await Promise.race([...this.outstanding, new Promise((r) => setTimeout(r, 250))]);
    }
  }

  /** Waits for every receiver to reach the highest acked seq, then audits their streams. */
  async audit(firstSeq: number, timeoutMs = 15_000): Promise<LoadReport> {
    const head = Math.max(firstSeq, ...this.acked.values());
    await Promise.all(this.options.receivers.map((r) => r.waitForSeq(this.options.room, head, timeoutMs)));
    const ackedSeqs = new Set(this.acked.values());
    let lost = 0;
    let duplicated = 0;
    let outOfOrder = 0;
    const receivedPerClient = this.options.receivers.map((r) => {
      const got = r.messages(this.options.room).map((m) => m.seq).filter((s) => s > firstSeq);
      const unique = new Set(got);
      duplicated += got.length - unique.size;
      for (let i = 1; i < got.length; i++) if (got[i]! <= got[i - 1]!) outOfOrder++;
      for (const seq of ackedSeqs) if (!unique.has(seq)) lost++;
      return got.length;
    });
    return {
      sent: this.sent,
      acked: this.acked.size,
      retries: this.retries,
      errors: this.errors,
      receivedPerClient,
      lost,
      duplicated,
      outOfOrder,
      head,
    };
  }

  private track(p: Promise<void>): void {
    this.outstanding.add(p);
    void p.finally(() => this.outstanding.delete(p));
  }

  private async deliver(sender: LoadSender, clientMsgId: string): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      if (attempt > 0) {
        this.retries++;
        await new Promise((r) => setTimeout(r, Math.min(1_000, 100 * attempt)));
      }
      if (attempt > 600) throw new Error(`${clientMsgId} never acked`);
      try {
        const reply = await sender.request('message.send', { room: this.options.room, body: `fault load ${clientMsgId}`, client_msg_id: clientMsgId }, this.options.ackTimeoutMs ?? 3_000);
        if (reply.ok) {
          const seq = (reply.data as { seq: number }).seq;
          const previous = this.acked.get(clientMsgId);
          if (previous !== undefined && previous !== seq) throw new Error(`${clientMsgId} acked with two seqs: ${previous} and ${seq}`);
          this.acked.set(clientMsgId, seq);
          return;
        }
        const code = (reply.error as { code: string; temporary: boolean }).code;
        this.errors[code] = (this.errors[code] ?? 0) + 1;
        if (!(reply.error as { temporary: boolean }).temporary) throw new Error(`${clientMsgId}: permanent error ${code}`);
      } catch (err) {
        if ((err as Error).message.includes('permanent') || (err as Error).message.includes('two seqs')) throw err;
        // Counted by cause: the SDK's own codes (TIMEOUT, DISCONNECTED, NOT_JOINED), a send held back while the
        // client rejoins (F8's adapter), or a TestClient that got no reply in time.
        const code = (err as { code?: unknown }).code;
        const cause = typeof code === 'string' ? code : (err as Error).message.startsWith('not joined') ? 'not_joined_yet' : 'timeout';
        this.errors[cause] = (this.errors[cause] ?? 0) + 1;
      }
    }
  }
}

export function printReport(fault: string, report: LoadReport, extra: Record<string, unknown> = {}): void {
  console.log(`[${fault}] ${JSON.stringify({ ...report, ...extra })}`);
}

export function expectNothingLost(report: LoadReport): void {
  expect(report.acked).toBeGreaterThan(0);
  expect(report.acked).toBe(report.sent);
  expect(report.lost).toBe(0);
  expect(report.duplicated).toBe(0);
  expect(report.outOfOrder).toBe(0);
}
