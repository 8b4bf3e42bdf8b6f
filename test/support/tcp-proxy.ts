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
  /**
   * On: the connections open now drop what the target sends (the client's frames still arrive), as a link that
   * went one-way silent; connections made later forward normally. Off: they forward again.
   */
  dropDownstream(on: boolean): void;
  /** Destroy every connection (an abrupt cut). */
  cut(): void;
  close(): Promise<void>;
}

/** `target`: a port, or a function read at each new connection (a server restarted on another port). */
export async function startTcpProxy(target: number | (() => number), targetHost = '127.0.0.1'): Promise<TcpProxy> {
  let silent = false;
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
    const forward = (from: Socket, to: Socket) =>
      from.on('data', (chunk) => {
        const marks = from as Socket & { stalled?: boolean; dropping?: boolean };
        if (!silent && !marks.stalled && !marks.dropping) to.write(chunk);
      });
    forward(client, upstream);
    forward(upstream, client);
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
      for (const [, upstream] of pairs) if (upstream) (upstream as Socket & { dropping?: boolean }).dropping = on;
    },
    cut,
    async close() {
      cut();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
