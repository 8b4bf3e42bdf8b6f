/** Commands waiting for their reply, by command id: each settles once — with its reply, a timeout, or a lost socket. */
import type { ErrorReply, OkReply } from '../src/protocol/frames.js';
import { NatterError } from './errors.js';

interface Waiting {
  resolve: (data: unknown) => void;
  reject: (err: NatterError) => void;
  timer: ReturnType<typeof setTimeout>;
}

export class Replies {
  private readonly waiting = new Map<string, Waiting>();
  private nextId = 0;

  /** A fresh command id and a promise for its reply's data; `write` puts the command on the wire. */
  expect(type: string, timeoutMs: number, write: (id: string) => void): Promise<unknown> {
    const id = `c${++this.nextId}`;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        reject(new NatterError('TIMEOUT', `${type}: no reply in ${timeoutMs} ms`, true));
      }, timeoutMs);
      this.waiting.set(id, { resolve, reject, timer });
      write(id);
    });
  }

  settle(reply: OkReply | ErrorReply): void {
    const w = this.waiting.get(reply.id);
    if (!w) return; // timed out already, or not ours
    this.waiting.delete(reply.id);
    clearTimeout(w.timer);
    if (reply.ok) w.resolve(reply.data);
    else w.reject(new NatterError(reply.error.code, reply.error.message, reply.error.temporary));
  }

  failAll(err: NatterError): void {
    for (const w of this.waiting.values()) {
      clearTimeout(w.timer);
      w.reject(err);
    }
    this.waiting.clear();
  }
}
