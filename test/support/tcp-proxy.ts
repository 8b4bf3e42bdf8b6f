/**
 * A TCP proxy for fault tests: forwards to a target, and can go silent (sockets open, nothing passes), drop only
 * what the server sends, or cut.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';

export interface TcpProxy {
  port: number;
  /** Stop forwarding in both directions; connections stay open and new ones are accepted but get nothing. */
  silence(): void;
  /** Forward again (for connections made from now on; silenced ones stay dead, as after a real network stall). */
  resume(): void;
  /** While on, what the target sends is dropped on every connection (the client's frames still arrive). */
  dropDownstream(on: boolean): void;
  /** Destroy every connection (an abrupt cut). */
  cut(): void;
  close(): Promise<void>;
}

/** `target`: a port, or a function read at each new connection (a server restarted on another port). */
export async function startTcpProxy(target: number | (() => number), targetHost = '127.0.0.1'): Promise<TcpProxy> {
  let silent = false;
  let dropping = false;
  const pairs = new Set<[Socket, Socket | undefined]>();
  const server: Server = createServer((client) => {
    client.on('error', () => undefined);
    if (silent) {
      const pair: [Socket, Socket | undefined] = [client, undefined];
      pairs.add(pair);
      client.on('close', () => pairs.delete(pair));
      return; // accepted, never answered
    }
    const upstream = connect(typeof target === 'number' ? target : target(), targetHost);
    upstream.on('error', () => client.destroy());
    const pair: [Socket, Socket | undefined] = [client, upstream];
    pairs.add(pair);
    const forward = (from: Socket, to: Socket, downstream: boolean) =>
      from.on('data', (chunk) => {
        if (!silent && !(from as Socket & { stalled?: boolean }).stalled && !(downstream && dropping)) to.write(chunk);
      });
    forward(client, upstream, false);
    forward(upstream, client, true);
    const end = () => {
      client.destroy();
      upstream.destroy();
      pairs.delete(pair);
    };
    client.on('close', end);
    upstream.on('close', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const cut = () => {
    for (const [client, upstream] of pairs) {
      client.destroy();
      upstream?.destroy();
    }
    pairs.clear();
  };
  return {
    port: (server.address() as { port: number }).port,
    silence() {
      silent = true;
      // Connections silenced now stay silent for good, like sockets stuck behind a dead link.
      for (const [client, upstream] of pairs) {
        (client as Socket & { stalled?: boolean }).stalled = true;
        if (upstream) (upstream as Socket & { stalled?: boolean }).stalled = true;
      }
    },
    resume() {
      silent = false;
    },
    dropDownstream(on) {
      dropping = on;
    },
    cut,
    async close() {
      cut();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
