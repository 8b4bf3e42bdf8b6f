/**
 * Counting deliveries without the `ws` client's frame parser (bench/loader.ts). A receiver that only counts (the
 * ~97% that are neither senders nor sampled) hands its socket's bytes to a FrameScanner instead of ws's Receiver:
 * it walks the server's (unmasked) frame headers, shows each text frame's first bytes to `onText` — enough to tell
 * a delivery by one byte — and skips the rest of the payload without copying or decoding it; control frames (ping,
 * close) go whole to `onControl`. Frames may be split across chunks anywhere, headers included (RFC 6455 §5.2).
 */

/** Bytes of a text frame's payload shown to `onText` (natter's and the floor's type byte is at index 9). */
export const PEEK_BYTES = 10;

export interface FrameHandlers {
  /** A text frame began: up to PEEK_BYTES of its payload. */
  onText(head: Buffer): void;
  /** A control frame (opcode ≥ 8: close, ping, pong), its whole payload (≤ 125 bytes). */
  onControl(opcode: number, payload: Buffer): void;
}

export class FrameScanner {
  /** Payload bytes of the current frame still to skip. */
  #skip = 0;
  /** An incomplete frame start (header and the payload bytes it needs) carried to the next chunk. */
  #pending: Buffer | undefined;

  constructor(private readonly handlers: FrameHandlers) {}

  push(chunk: Buffer): void {
    let buf = chunk;
    let i = 0;
    if (this.#skip > 0) {
      i = Math.min(this.#skip, buf.length);
      this.#skip -= i;
    }
    if (this.#pending) {
      buf = Buffer.concat([this.#pending, buf.subarray(i)]);
      i = 0;
      this.#pending = undefined;
    }
    while (i < buf.length) {
      const start = this.#frame(buf, i);
      if (start === undefined) {
        this.#pending = Buffer.from(buf.subarray(i)); // a copy: the chunk's memory is not ours to keep
        return;
      }
      const end = start.payload + start.length;
      if (end > buf.length) {
        this.#skip = end - buf.length;
        return;
      }
      i = end;
    }
  }

  /** Reads the frame starting at `i` and reports it; undefined if the chunk ends before what that needs. */
  #frame(buf: Buffer, i: number): { payload: number; length: number } | undefined {
    if (buf.length - i < 2) return undefined;
    const opcode = buf[i]! & 0x0f;
    let length = buf[i + 1]! & 0x7f;
    let header = 2;
    if (length === 126) {
      if (buf.length - i < 4) return undefined;
      length = buf.readUInt16BE(i + 2);
      header = 4;
    } else if (length === 127) {
      if (buf.length - i < 10) return undefined;
      length = Number(buf.readBigUInt64BE(i + 2));
      header = 10;
    }
    const payload = i + header;
    const needed = opcode >= 8 ? length : opcode === 1 ? Math.min(length, PEEK_BYTES) : 0;
    if (buf.length - payload < needed) return undefined;
    if (opcode >= 8) this.handlers.onControl(opcode, buf.subarray(payload, payload + length));
    else if (opcode === 1) this.handlers.onText(buf.subarray(payload, payload + needed));
    return { payload, length };
  }
}
