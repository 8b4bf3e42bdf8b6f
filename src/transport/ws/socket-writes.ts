/**
 * How a connection's bytes reach its socket: every data frame framed here (a push shared by a fan-out once), and
 * every socket written to in one event-loop turn corked until the turn ends.
 */
import type { Socket } from 'node:net';
import type { WebSocket } from 'ws';
import { encodeFrame } from '../../protocol/codec.js';
import type { Push } from '../../protocol/frames.js';

/**
 * Pushes shared by many sessions are encoded once, to the whole WebSocket frame every socket is sent: a fan-out
 * pushes one frame object to each of its sessions in a row, so the last frame's bytes are all there is to remember
 * (no WeakMap entry per message). A server's frames are not masked (RFC 6455 §5.1), so the same bytes suit every
 * socket, and each delivery is one write of one buffer instead of ws framing it anew (a header and the payload:
 * two writes and a header buffer per socket).
 */
let lastFrame: Push | undefined;
let lastBytes: Buffer = Buffer.alloc(0);
export const framedShared = (frame: Push): Buffer => {
  if (frame !== lastFrame) {
    lastBytes = textFrame(encodeFrame(frame));
    lastFrame = frame;
  }
  return lastBytes;
};

/** One final, unmasked text frame (RFC 6455 §5.2): FIN + opcode 1, then the payload length in 7, 16 or 64 bits. */
export function textFrame(payload: string): Buffer {
  const n = Buffer.byteLength(payload);
  const header = n < 126 ? 2 : n < 65_536 ? 4 : 10;
  const out = Buffer.allocUnsafe(header + n);
  out[0] = 0x81;
  if (n < 126) {
    out[1] = n;
  } else if (n < 65_536) {
    out[1] = 126;
    out.writeUInt16BE(n, 2);
  } else {
    out[1] = 127;
    out.writeBigUInt64BE(BigInt(n), 2);
  }
  out.write(payload, header);
  return out;
}

/** The TCP socket under a `ws` WebSocket (`ws` keeps it in a private field; undefined before it is attached). */
export const socketOf = (ws: WebSocket): Socket | undefined => (ws as unknown as { _socket?: Socket })._socket;

/**
 * Write coalescing for every connection: a socket written to during an event-loop turn is corked until the turn
 * ends, then all of them are uncorked by one setImmediate (not one timer per socket).
 */
const corked = new Set<Socket>();
let uncorkScheduled = false;
const uncorkAll = () => {
  uncorkScheduled = false;
  for (const socket of corked) socket.uncork();
  corked.clear();
};
export function corkForThisTurn(socket: Socket): void {
  if (corked.has(socket)) return;
  corked.add(socket);
  socket.cork();
  if (!uncorkScheduled) {
    uncorkScheduled = true;
    setImmediate(uncorkAll);
  }
}
