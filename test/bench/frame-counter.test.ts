/**
 * The loaders' raw frame scanner (bench/frame-counter.ts) against frames made by `ws`'s own Sender, as a server
 * sends them (unmasked): every text frame and control frame is reported once, in order, with its first bytes,
 * however the byte stream is cut into chunks.
 */
import * as ws from 'ws';
import { describe, expect, it } from 'vitest';
import { FrameScanner, PEEK_BYTES } from '../../bench/frame-counter.js';

/** ws's own framing (exported at run time, not in @types/ws). */
const { Sender } = ws as unknown as {
  Sender: { frame(data: Buffer, options: { fin: boolean; mask: boolean; opcode: number; readOnly: boolean; rsv1: boolean }): Buffer[] };
};

type Seen = Array<[kind: 'text' | number, bytes: string]>;

const frame = (data: Buffer | string, opcode: number): Buffer =>
  Buffer.concat(Sender.frame(Buffer.from(data), { fin: true, mask: false, opcode, readOnly: false, rsv1: false }));

function scan(chunks: Buffer[]): Seen {
  const seen: Seen = [];
  const scanner = new FrameScanner({
    onText: (head) => seen.push(['text', head.toString('latin1')]),
    onControl: (opcode, payload) => seen.push([opcode, payload.toString('latin1')]),
  });
  for (const chunk of chunks) scanner.push(chunk);
  return seen;
}

const message = (n: number) => `{"type":"message","message":{"seq":${n},"body":"${'x'.repeat(n)}"}}`;
const texts = [message(1), '{"type":"reply","id":"1","ok":true}', message(200), message(70_000), '2', message(3)];
const stream = Buffer.concat([
  frame(texts[0]!, 1),
  frame('', 9), // ping
  frame(texts[1]!, 1),
  frame(texts[2]!, 1), // 16-bit length
  frame(texts[3]!, 1), // 64-bit length
  frame(texts[4]!, 1), // shorter than the peek
  frame(Buffer.from([0x03, 0xe8, 0x62, 0x79, 0x65]), 8), // close 1000 "bye"
  frame(texts[5]!, 1),
]);
const expected: Seen = [
  ['text', texts[0]!.slice(0, PEEK_BYTES)],
  [9, ''],
  ['text', texts[1]!.slice(0, PEEK_BYTES)],
  ['text', texts[2]!.slice(0, PEEK_BYTES)],
  ['text', texts[3]!.slice(0, PEEK_BYTES)],
  ['text', '2'],
  [8, '\x03\xe8bye'],
  ['text', texts[5]!.slice(0, PEEK_BYTES)],
];

describe('bench frame scanner', () => {
  it('reports every frame of one chunk, in order', () => {
    expect(scan([stream])).toEqual(expected);
  });

  it('gives the same report however the stream is cut in two', () => {
    for (let cut = 1; cut < stream.length; cut += cut < 400 ? 1 : 997) {
      expect(scan([stream.subarray(0, cut), stream.subarray(cut)]), `cut at ${cut}`).toEqual(expected);
    }
  });

  it('gives the same report byte by byte, and in chunks of every size up to 64', () => {
    for (let size = 1; size <= 64; size++) {
      const chunks: Buffer[] = [];
      for (let i = 0; i < stream.length; i += size) chunks.push(stream.subarray(i, i + size));
      expect(scan(chunks), `chunks of ${size}`).toEqual(expected);
    }
  });
});
