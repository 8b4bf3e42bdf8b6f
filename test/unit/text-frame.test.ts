/**
 * natter's data frames (socket-writes.ts textFrame: every push and reply) as a real `ws` client parses them, at
 * every length encoding: 7 bits (< 126), 16 bits (126–65,535) and 64 bits (≥ 65,536), and a multi-byte UTF-8
 * payload.
 */
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { socketOf, textFrame } from '../../src/transport/ws/socket-writes.js';

describe('textFrame', () => {
  let wss: WebSocketServer;
  let client: WebSocket;
  let server: WebSocket;

  beforeAll(async () => {
    wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
    await once(wss, 'listening');
    const { port } = wss.address() as { port: number };
    const accepted = once(wss, 'connection');
    client = new WebSocket(`ws://127.0.0.1:${port}`, { perMessageDeflate: false });
    [server] = (await accepted) as [WebSocket];
    if (client.readyState !== WebSocket.OPEN) await once(client, 'open');
  });

  afterAll(async () => {
    client.terminate();
    await new Promise((resolve) => wss.close(resolve));
  });

  it.each([0, 1, 125, 126, 127, 65_535, 65_536, 200_000])('a %i-byte payload arrives whole, as text', async (length) => {
    const payload = 'x'.repeat(length);
    const received = once(client, 'message');
    socketOf(server)!.write(textFrame(payload));
    const [data, isBinary] = (await received) as [Buffer, boolean];
    expect(isBinary).toBe(false);
    expect(data.toString()).toBe(payload);
  });

  it('frames the UTF-8 bytes, not the characters', async () => {
    const payload = '{"body":"héllo — 👋"}';
    const received = once(client, 'message');
    socketOf(server)!.write(textFrame(payload));
    const [data] = (await received) as [Buffer];
    expect(data.toString()).toBe(payload);
  });
});
