/** A minimal protocol client for tests: records every frame, awaits replies and pushes by predicate. */
import WebSocket from 'ws';

export type Frame = { type: string; id?: string; [k: string]: unknown };

export interface Closed {
  code: number;
  reason: string;
}

export class TestClient {
  readonly frames: Frame[] = [];
  readonly closed: Promise<Closed>;
  private waiters: Array<{ test: (f: Frame) => boolean; resolve: (f: Frame) => void }> = [];
  private nextId = 0;

  constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      const frame = JSON.parse(data.toString()) as Frame;
      this.frames.push(frame);
      this.waiters = this.waiters.filter((w) => {
        if (!w.test(frame)) return true;
        w.resolve(frame);
        return false;
      });
    });
    this.closed = new Promise((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  }

  /** Opens a socket; with `token` it authenticates in the query string and waits for `hello`. */
  static async connect(wsUrl: string, token?: string, options: WebSocket.ClientOptions = {}): Promise<TestClient> {
    const ws = new WebSocket(token ? `${wsUrl}?token=${encodeURIComponent(token)}` : wsUrl, options);
    const client = new TestClient(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    if (token) await client.next((f) => f.type === 'hello');
    return client;
  }

  /** Resolves with the first frame (already received or future) that passes `test`. */
  next(test: (f: Frame) => boolean, timeoutMs = 5_000): Promise<Frame> {
    const seen = this.frames.find(test);
    if (seen) return Promise.resolve(seen);
    return this.nextNew(test, timeoutMs);
  }

  /** Resolves with the first frame received from now on that passes `test`. */
  nextNew(test: (f: Frame) => boolean, timeoutMs = 5_000): Promise<Frame> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for a frame; last: ${JSON.stringify(this.frames.slice(-3))}`)), timeoutMs);
      this.waiters.push({
        test,
        resolve: (f) => {
          clearTimeout(timer);
          resolve(f);
        },
      });
    });
  }

  sendRaw(data: string | Buffer, binary = false): void {
    this.ws.send(data, { binary });
  }

  /** Sends a command and resolves with its reply (ok or not). */
  async request(type: string, fields: Record<string, unknown> = {}, timeoutMs = 5_000): Promise<Frame & { ok: boolean; data?: any; error?: any }> {
    const id = `c${++this.nextId}`;
    const reply = this.nextNew((f) => f.type === 'reply' && f.id === id, timeoutMs);
    this.ws.send(JSON.stringify({ type, id, ...fields }));
    return (await reply) as Frame & { ok: boolean };
  }

  /** Like request, but throws unless ok; returns data. */
  async call(type: string, fields: Record<string, unknown> = {}): Promise<any> {
    const reply = await this.request(type, fields);
    if (!reply.ok) throw new Error(`${type} failed: ${JSON.stringify(reply.error)}`);
    return reply.data;
  }

  messages(room?: string): Array<{ seq: number; body: string; id: string; room: string; client_msg_id: string | null; type: string; sender: { id: string; name: string } }> {
    return this.frames
      .filter((f) => f.type === 'message')
      .map((f) => f.message as any)
      .filter((m) => room === undefined || m.room === room);
  }

  /** Waits until this client has received a message with seq >= `seq` in `room`. */
  async waitForSeq(room: string, seq: number, timeoutMs = 10_000): Promise<void> {
    if (this.messages(room).some((m) => m.seq >= seq)) return;
    await this.nextNew((f) => f.type === 'message' && (f.message as any).room === room && (f.message as any).seq >= seq, timeoutMs);
  }

  close(): Promise<Closed> {
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) this.ws.close(1000);
    return this.closed;
  }
}

/** Asserts-friendly summary: the seqs a client received for a room, in arrival order. */
export const seqs = (client: TestClient, room: string) => client.messages(room).map((m) => m.seq);
export const range = (from: number, to: number) => Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i);
