/** The WebSocket endpoint `/ws` on Fastify's HTTP server: upgrade, connection registry, heartbeat, shutdown. */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { WebSocketServer } from 'ws';
import type { ChatService } from '../../core/chat.js';
import type { AccessTokens } from '../../core/ports.js';
import { Connection } from './connection.js';

export interface WsOptions {
  authTimeoutMs: number;
  heartbeatIntervalMs: number;
  heartbeatTimeoutMs: number;
}

export const WS_PATH = '/ws';
export const MAX_FRAME_BYTES = 64 * 1024;

interface GatewayDeps {
  chat: ChatService;
  accessTokens: AccessTokens;
  options: WsOptions;
}

function rejectUpgrade(socket: Duplex, status: number, text: string): void {
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}

export function attachWebSocket(app: FastifyInstance, { chat, accessTokens, options }: GatewayDeps): void {
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME_BYTES, perMessageDeflate: false, clientTracking: false });
  const connections = new Set<Connection>();
  const log = app.log.child({ component: 'ws' });

  const onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    // The query string may carry a token: parse it here and never log the URL.
    const url = new URL(request.url ?? '/', 'http://localhost');
    if (url.pathname !== WS_PATH) {
      rejectUpgrade(socket, 404, 'Not Found');
      return;
    }
    wss.handleUpgrade(request, socket, head, (ws) => {
      const connection = new Connection(ws, { chat, accessTokens, log, authTimeoutMs: options.authTimeoutMs }, url.searchParams.get('token'));
      connections.add(connection);
      ws.on('close', () => connections.delete(connection));
    });
  };
  app.server.on('upgrade', onUpgrade);

  // Liveness: ping a connection that has been quiet for an interval; drop it if no pong comes within the timeout.
  const sweepEvery = Math.max(250, Math.min(options.heartbeatIntervalMs, options.heartbeatTimeoutMs) / 4);
  const sweep = setInterval(() => {
    const now = Date.now();
    for (const c of connections) {
      if (c.pingSentAt !== 0 && now - c.pingSentAt > options.heartbeatTimeoutMs) {
        log.debug({ session: c.id }, 'heartbeat timeout; terminating');
        c.terminate();
      } else if (c.pingSentAt === 0 && now - c.lastSeen >= options.heartbeatIntervalMs) {
        c.ping();
      }
    }
  }, sweepEvery);
  sweep.unref();

  app.decorate('wsConnectionCount', () => connections.size);
  app.addHook('preClose', async () => {
    app.server.off('upgrade', onUpgrade);
    clearInterval(sweep);
    for (const c of connections) c.close('GOING_AWAY', 'server shutting down');
    await Promise.all(
      [...connections].map(
        (c) =>
          new Promise<void>((resolve) => {
            const t = setTimeout(() => {
              c.terminate();
              resolve();
            }, 2_000);
            c.onClosed(() => {
              clearTimeout(t);
              resolve();
            });
          }),
      ),
    );
    wss.close();
  });
}

declare module 'fastify' {
  interface FastifyInstance {
    wsConnectionCount(): number;
  }
}
