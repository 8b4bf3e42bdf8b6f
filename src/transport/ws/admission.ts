/**
 * Who may open a WebSocket, decided before the upgrade (and, for per-user caps, right after authentication):
 * the Origin allowlist (cross-site WebSocket hijacking), connections per client address, connects per second per
 * client address, and connections per user. Refusals before the upgrade are plain HTTP answers, never a 101.
 */
import type { IncomingMessage } from 'node:http';
import type { RateLimiter } from '../../core/ports.js';

export interface AdmissionOptions {
  /** Exact origins (scheme://host[:port]) allowed besides the same origin; `*` allows any (not recommended). */
  allowedOrigins: readonly string[];
  maxConnectionsPerIp: number;
  maxConnectionsPerUser: number;
  /** Token bucket of connects per client address. */
  connectBurst: number;
  connectsPerSecond: number;
  /** Take the client address from the last X-Forwarded-For hop (set when natter runs behind a proxy). */
  trustProxy: boolean;
}

export type Refusal = { status: 403 | 429; text: string };

/** The client address: the socket's peer, or the address the (trusted) proxy saw. */
export function clientIp(request: IncomingMessage, trustProxy: boolean): string {
  if (trustProxy) {
    const forwarded = request.headers['x-forwarded-for'];
    const list = (Array.isArray(forwarded) ? forwarded.join(',') : (forwarded ?? '')).split(',').map((s) => s.trim()).filter(Boolean);
    const last = list.at(-1);
    if (last) return last;
  }
  return request.socket.remoteAddress ?? 'unknown';
}

/**
 * Same origin means the Origin's host:port equals the Host header (the scheme is not compared: behind a TLS
 * terminator the server sees http). A request without Origin is not from a browser: it is admitted here and must
 * authenticate with a token like every other.
 */
export function originAllowed(request: IncomingMessage, allowed: readonly string[]): boolean {
  const origin = request.headers.origin;
  if (origin === undefined) return true;
  if (allowed.includes('*') || allowed.includes(origin)) return true;
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return false;
  }
  const host = request.headers.host;
  return host !== undefined && (url.protocol === 'http:' || url.protocol === 'https:') && url.host === host.toLowerCase();
}

export class Admission {
  private readonly perIp = new Map<string, number>();
  private readonly perUser = new Map<string, number>();

  constructor(
    private readonly options: AdmissionOptions,
    private readonly limiter: RateLimiter,
  ) {}

  /** Before the upgrade: answers a refusal, or the client address (to `release` when the socket closes). */
  async admit(request: IncomingMessage): Promise<Refusal | { ip: string }> {
    if (!originAllowed(request, this.options.allowedOrigins)) return { status: 403, text: 'Forbidden' };
    const ip = clientIp(request, this.options.trustProxy);
    if ((this.perIp.get(ip) ?? 0) >= this.options.maxConnectionsPerIp) return { status: 429, text: 'Too Many Requests' };
    const decision = await this.limiter.take(`connect:${ip}`, { capacity: this.options.connectBurst, perSecond: this.options.connectsPerSecond });
    if (!decision.allowed) return { status: 429, text: 'Too Many Requests' };
    this.perIp.set(ip, (this.perIp.get(ip) ?? 0) + 1);
    return { ip };
  }

  release(ip: string): void {
    decrement(this.perIp, ip);
  }

  /** After authentication: false when the user already holds the maximum number of sockets on this instance. */
  claimUser(userId: string): boolean {
    const n = this.perUser.get(userId) ?? 0;
    if (n >= this.options.maxConnectionsPerUser) return false;
    this.perUser.set(userId, n + 1);
    return true;
  }

  releaseUser(userId: string): void {
    decrement(this.perUser, userId);
  }
}

function decrement(map: Map<string, number>, key: string): void {
  const n = (map.get(key) ?? 0) - 1;
  if (n <= 0) map.delete(key);
  else map.set(key, n);
}
