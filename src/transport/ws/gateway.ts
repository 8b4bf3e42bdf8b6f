/**
 * The WebSocket endpoint `/ws` on Fastify's HTTP server: upgrade, connection registry, heartbeat, and the two
 * steps of shutdown — `wsDrain` (refuse upgrades with 503, close sockets in jittered batches with SERVER_DRAINING
 * so clients reconnect elsewhere) and preClose (whatever is left gets 1001).
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { WebSocketServer } from 'ws';
import type { ChatService } from '../../core/chat.js';
import type { Metrics } from '../../core/metrics.js';
import type { AccessTokens } from '../../core/ports.js';
import type { SecurityConfig } from '../../config.js';
import type { RateLimiter } from '../../core/ports.js';
import { Admission } from './admission.js';
import { Connection, type ConnectionSecurity } from './connection.js';

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
  metrics?: Metrics;
  /** Shared with /readyz: true once shutdown began; upgrades are then refused with 503. */
  lifecycle: { draining: boolean };
  /** Origin allowlist, caps, connect rate, token expiry, violations (absent: none of them). */
  security?: { config: SecurityConfig; rateLimiter: RateLimiter };
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Fisher–Yates: which clients leave first is random, so no group of users is always moved first. */
function shuffled<T>(items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}

function connectionSecurityOf(config: SecurityConfig, admission: Admission): ConnectionSecurity {
  return {
    tokenRefreshLeadMs: config.tokenRefreshLeadMs,
    tokenExpiryGraceMs: config.tokenExpiryGraceMs,
    maxViolationsPerMinute: config.maxViolationsPerMinute,
    claimUser: (userId) => admission.claimUser(userId),
    releaseUser: (userId) => admission.releaseUser(userId),
  };
}

function rejectUpgrade(socket: Duplex, status: number, text: string): void {
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}

export function attachWebSocket(app: FastifyInstance, { chat, accessTokens, options, metrics, lifecycle, security }: GatewayDeps): void {
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME_BYTES, perMessageDeflate: false, clientTracking: false });
  const admission = security ? new Admission(security.config, security.rateLimiter) : undefined;
  const connectionSecurity = security && admission ? connectionSecurityOf(security.config, admission) : undefined;
  const connections = new Set<Connection>();
  const log = app.log.child({ component: 'ws' });
  const refuse = (socket: Duplex, status: number, text: string) => {
    metrics?.count('upgradesRefused', { status: String(status) });
    rejectUpgrade(socket, status, text);
  };

  const onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    // The query string may carry a token: parse it here and never log the URL.
    const url = new URL(request.url ?? '/', 'http://localhost');
    if (url.pathname !== WS_PATH) {
      refuse(socket, 404, 'Not Found');
      return;
    }
    if (lifecycle.draining) {
      // The load balancer retries another instance (nginx: proxy_next_upstream http_503).
      refuse(socket, 503, 'Service Unavailable');
      return;
    }
    const upgrade = (release: () => void) =>
      wss.handleUpgrade(request, socket, head, (ws) => {
        const deps = { chat, accessTokens, log, authTimeoutMs: options.authTimeoutMs, metrics, security: connectionSecurity };
        const connection = new Connection(ws, deps, url.searchParams.get('token'));
        connections.add(connection);
        ws.on('close', () => {
          connections.delete(connection);
          release();
        });
      });
    if (!admission) return upgrade(() => undefined);
    // Origin allowlist, per-address caps and connect rate: refused with a plain HTTP answer, never a 101.
    admission.admit(request).then(
      (verdict) => {
        if ('status' in verdict) return refuse(socket, verdict.status, verdict.text);
        let released = false;
        const release = () => {
          if (!released) admission.release(verdict.ip);
          released = true;
        };
        if (socket.destroyed) return release();
        socket.once('close', release);
        upgrade(release);
      },
      () => refuse(socket, 503, 'Service Unavailable'),
    );
  };
  app.server.on('upgrade', onUpgrade);

  // Liveness: ping a connection that has been quiet for half to all of the interval (each connection its own
  // fraction, at random, so thousands that connected together are not all pinged by one sweep: every ping is a
  // socket write, and a burst of them stalls the event loop); drop it if no pong comes within the timeout.
  const { heartbeatIntervalMs: interval, heartbeatTimeoutMs: timeout } = options;
  const sweepEvery = Math.min(1_000, Math.max(250, Math.min(interval, timeout) / 20));
  const sweep = setInterval(() => {
    const now = Date.now();
    for (const c of connections) {
      if (c.pingSentAt !== 0 && now - c.pingSentAt > timeout) {
        log.debug({ session: c.id }, 'heartbeat timeout; terminating');
        metrics?.count('wsCloses', { reason: 'HEARTBEAT_TIMEOUT' });
        c.terminate();
      } else if (c.pingSentAt === 0 && now - c.lastSeen >= interval * (1 - c.heartbeatPhase / 2)) {
        c.ping();
      }
    }
  }, sweepEvery);
  sweep.unref();

  /** Waits (at most 2 s) for the closing handshakes; a peer that does not answer is cut. */
  const closed = (list: Connection[]) =>
    Promise.all(
      list.map(
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

  /**
   * Refuses new upgrades, then closes every socket with SERVER_DRAINING, spread over about `spreadMs`: shuffled,
   * in batches every ~100 ms with ±50 % jitter, so the clients do not all reconnect (to the other instances) at once.
   */
  const drain = async (spreadMs: number): Promise<void> => {
    lifecycle.draining = true;
    const all = shuffled([...connections]);
    if (all.length === 0) return;
    const tick = Math.max(20, Math.min(100, spreadMs / 10));
    const perBatch = Math.max(1, Math.ceil((all.length * tick) / Math.max(spreadMs, 1)));
    log.info({ connections: all.length, spreadMs, perBatch }, 'draining: asking clients to reconnect elsewhere');
    for (let i = 0; i < all.length; i += perBatch) {
      for (const c of all.slice(i, i + perBatch)) c.close('SERVER_DRAINING', 'server restarting; reconnect');
      if (i + perBatch < all.length) await sleep(tick * (0.5 + Math.random()));
    }
    await closed(all);
  };

  app.decorate('wsConnectionCount', () => connections.size);
  app.decorate('wsDrain', drain);
  app.addHook('preClose', async () => {
    app.server.off('upgrade', onUpgrade);
    clearInterval(sweep);
    for (const c of connections) c.close('GOING_AWAY', 'server shutting down');
    await closed([...connections]);
    wss.close();
  });
}

declare module 'fastify' {
  interface FastifyInstance {
    wsConnectionCount(): number;
    /** Shutdown step 1: refuse upgrades (503) and move every client elsewhere over about `spreadMs`. */
    wsDrain(spreadMs: number): Promise<void>;
  }
}
