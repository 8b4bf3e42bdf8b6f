/**
 * One WebSocket connection: authentication, frame decoding, replies and pushes, liveness. Transport only:
 * everything a command means is decided by the core.
 */
import type { Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import type { WebSocket, RawData } from 'ws';
import type { FastifyBaseLogger } from 'fastify';
import type { ChatService } from '../../core/chat.js';
import { isChatError } from '../../core/errors.js';
import type { Metrics } from '../../core/metrics.js';
import type { AccessTokens } from '../../core/ports.js';
import type { SessionPort } from '../../core/session.js';
import { asSessionId, type Principal, type SessionId } from '../../core/types.js';
import { decodeCommand, encodeFrame } from '../../protocol/codec.js';
import { CLOSE_CODES, ERROR_CODES, type ErrorCode } from '../../protocol/errors.js';
import type { Command, Push, ServerFrame } from '../../protocol/frames.js';
import { dispatch } from './dispatch.js';
import { corkForThisTurn, framedShared, socketOf, textFrame } from './socket-writes.js';

/** While replaying history, wait for the socket to drain once this much is queued. */
const DRAIN_ABOVE = 256 * 1024;
/** A socket with this much queued (it stopped reading) is closed as a slow consumer; nothing more is queued. */
export const SLOW_CONSUMER_BYTES = 1024 * 1024;
/** A slow consumer that does not complete the closing handshake within this is cut. */
const SLOW_TERMINATE_MS = 10_000;

/** Token expiry, violations and per-user caps (all optional: without them a connection only authenticates). */
export interface ConnectionSecurity {
  /** Push `auth.expiring` this long before the token's `exp`. */
  tokenRefreshLeadMs: number;
  /** Close with TOKEN_EXPIRED this long after `exp` unless a fresh token arrived. */
  tokenExpiryGraceMs: number;
  /** Malformed frames tolerated per minute before a close with PROTOCOL_VIOLATION. */
  maxViolationsPerMinute: number;
  claimUser(userId: string): boolean;
  releaseUser(userId: string): void;
}

export interface ConnectionDeps {
  chat: ChatService;
  accessTokens: AccessTokens;
  log: FastifyBaseLogger;
  authTimeoutMs: number;
  metrics?: Metrics;
  security?: ConnectionSecurity;
}

export class Connection implements SessionPort {
  readonly id: SessionId = asSessionId(randomBytes(9).toString('base64url'));
  private user: Principal | null = null;
  private authTimer: NodeJS.Timeout | undefined;
  /** Liveness: last time anything (a frame or a pong) arrived, and when the outstanding ping was sent. */
  lastSeen = Date.now();
  pingSentAt = 0;
  /** In [0, 1): where in the second half of the heartbeat interval this connection is pinged (gateway.ts). */
  readonly heartbeatPhase = Math.random();
  private claimed = false;
  private expiryTimers: NodeJS.Timeout[] = [];
  private violations = 0;
  private violationsSince = Date.now();

  constructor(
    private readonly ws: WebSocket,
    private readonly deps: ConnectionDeps,
    queryToken: string | null,
  ) {
    ws.on('message', (data, isBinary) => this.onFrame(data, isBinary));
    ws.on('pong', () => {
      this.lastSeen = Date.now();
      this.pingSentAt = 0;
    });
    ws.on('error', (err) => this.deps.log.debug({ err: err.message, session: this.id }, 'websocket protocol error'));
    ws.on('close', () => this.onClose());
    if (queryToken !== null) void this.authenticate(queryToken, undefined);
    else this.authTimer = setTimeout(() => this.close('POLICY_VIOLATION', 'authentication timeout'), deps.authTimeoutMs);
  }

  get principal(): Principal {
    if (!this.user) throw new Error('connection is not authenticated');
    return this.user;
  }

  get authenticated(): boolean {
    return this.user !== null;
  }

  push(frame: Push): void {
    this.writable()?.write(framedShared(frame));
  }

  /**
   * Every data frame natter sends is framed by socket-writes.ts and written to the socket as it is: `ws` would
   * frame nothing differently for this socket (no extension is negotiated: perMessageDeflate is off, and
   * natter sends no Blobs, so its sender never queues). Write coalescing: everything written to this socket during
   * one event-loop turn (an ack and the pushes that follow it, a page of history) leaves in one writev when the
   * turn ends.
   */
  private send(frame: ServerFrame): void {
    this.writable()?.write(textFrame(encodeFrame(frame)));
  }

  /** The open socket, corked for this turn; undefined if it is closing or has stopped reading (then it is closed). */
  private writable(): Socket | undefined {
    if (this.ws.readyState !== this.ws.OPEN) return undefined;
    const socket = socketOf(this.ws);
    if (!socket) return undefined;
    if (this.ws.bufferedAmount > SLOW_CONSUMER_BYTES) {
      this.slowConsumer();
      return undefined;
    }
    corkForThisTurn(socket);
    return socket;
  }

  async drained(): Promise<void> {
    const socket = socketOf(this.ws);
    if (!socket || this.ws.bufferedAmount < DRAIN_ABOVE || this.ws.readyState !== this.ws.OPEN) return;
    await new Promise<void>((resolve) => {
      const done = () => {
        socket.off('drain', done);
        socket.off('close', done);
        resolve();
      };
      socket.on('drain', done);
      socket.on('close', done);
    });
  }

  /** The peer stopped reading: close (the close frame waits behind the queue), queue nothing more, cut later. */
  private slowConsumer(): void {
    this.deps.log.info({ session: this.id, queued: this.ws.bufferedAmount }, 'slow consumer; closing');
    this.close('SLOW_CONSUMER', 'slow consumer');
    setTimeout(() => this.ws.terminate(), SLOW_TERMINATE_MS).unref();
  }

  end(reason: 'revoked'): void {
    if (reason === 'revoked') this.close('SESSION_REVOKED', 'session revoked');
  }

  onClosed(listener: () => void): void {
    if (this.ws.readyState === this.ws.CLOSED) listener();
    else this.ws.once('close', listener);
  }

  ping(): void {
    this.pingSentAt = Date.now();
    this.ws.ping();
  }

  terminate(): void {
    this.ws.terminate();
  }

  close(name: keyof typeof CLOSE_CODES, reason: string): void {
    this.deps.metrics?.count('wsCloses', { reason: name });
    this.ws.close(CLOSE_CODES[name].code, reason);
  }

  private replyError(id: string | undefined, code: ErrorCode, message: string): void {
    this.deps.metrics?.count('errors', { code, transport: 'ws' });
    const error = { code, message, temporary: ERROR_CODES[code].temporary };
    this.send(id === undefined ? { type: 'error', error } : { type: 'reply', id, ok: false, error });
  }

  private onFrame(data: RawData, isBinary: boolean): void {
    this.lastSeen = Date.now();
    if (isBinary) {
      this.close('UNSUPPORTED_DATA', 'binary frames are not supported');
      return;
    }
    const decoded = decodeCommand(data.toString());
    if (!this.user) {
      if (decoded.ok && decoded.command.type === 'auth') void this.authenticate(decoded.command.token, decoded.command.id);
      else this.close('POLICY_VIOLATION', 'authenticate first');
      return;
    }
    if (!decoded.ok) {
      this.replyError(decoded.id, decoded.code, decoded.message);
      this.violation();
      return;
    }
    void this.run(decoded.command);
  }

  private async authenticate(token: string, id: string | undefined): Promise<void> {
    clearTimeout(this.authTimer);
    try {
      const verified = await this.deps.accessTokens.verify(token);
      if (this.ws.readyState !== this.ws.OPEN) return;
      if (this.deps.security && !this.deps.security.claimUser(verified.userId)) {
        this.close('TOO_MANY_CONNECTIONS', 'too many connections for this user');
        return;
      }
      this.claimed = true;
      this.user = { userId: verified.userId, username: verified.username };
      this.watchExpiry(verified.expiresAt);
      this.deps.chat.connect(this);
      if (id !== undefined) this.send({ type: 'reply', id, ok: true, data: { user: { id: this.user.userId, name: this.user.username } } });
      this.push({
        type: 'hello',
        user: { id: this.user.userId, name: this.user.username },
        session: this.id,
        server_time: new Date().toISOString(),
      });
      this.deps.log.debug({ session: this.id, userId: this.user.userId }, 'websocket authenticated');
    } catch (err) {
      const reason = isChatError(err) ? err.message : 'token invalid';
      this.close('POLICY_VIOLATION', reason);
    }
  }

  private async run(command: Command): Promise<void> {
    if (command.type === 'auth') {
      await this.reauthenticate(command.token, command.id);
      return;
    }
    try {
      const reply = await dispatch(this.deps.chat, this.id, command);
      this.send({ type: 'reply', id: command.id, ok: true, data: reply.data });
      reply.after?.();
    } catch (err) {
      if (isChatError(err)) {
        this.replyError(command.id, err.code, err.message);
      } else {
        this.deps.log.error({ err, session: this.id, command: command.type }, 'command failed');
        this.replyError(command.id, 'INTERNAL', `internal error (session ${this.id})`);
      }
    }
  }

  /** A fresh token for the same user on an open socket (token refresh without reconnecting). */
  private async reauthenticate(token: string, id: string | undefined): Promise<void> {
    try {
      const verified = await this.deps.accessTokens.verify(token);
      if (verified.userId !== this.user?.userId) {
        this.replyError(id, 'ALREADY_AUTHENTICATED', 'this connection belongs to another user');
        return;
      }
      this.watchExpiry(verified.expiresAt);
      if (id !== undefined) this.send({ type: 'reply', id, ok: true, data: { user: { id: verified.userId, name: verified.username } } });
    } catch (err) {
      this.replyError(id, isChatError(err) ? err.code : 'TOKEN_INVALID', 'token invalid');
    }
  }

  /**
   * Token expiry on an open socket: `auth.expiring` is pushed `tokenRefreshLeadMs` before `exp` (at once if that is
   * past); without a fresh token (an `auth` frame, which calls this again) the socket closes with TOKEN_EXPIRED
   * `tokenExpiryGraceMs` after `exp`.
   */
  private watchExpiry(expiresAt: number): void {
    const security = this.deps.security;
    if (!security) return;
    for (const t of this.expiryTimers) clearTimeout(t);
    const now = Date.now();
    const deadline = expiresAt + security.tokenExpiryGraceMs;
    const ask = setTimeout(() => {
      this.push({ type: 'auth.expiring', expires_at: new Date(expiresAt).toISOString(), deadline: new Date(deadline).toISOString() });
    }, Math.max(0, expiresAt - security.tokenRefreshLeadMs - now));
    const cut = setTimeout(() => this.close('TOKEN_EXPIRED', 'token expired'), Math.max(0, deadline - now));
    ask.unref();
    cut.unref();
    this.expiryTimers = [ask, cut];
  }

  /** Malformed frames: each gets an error reply; too many in a minute close the connection. */
  private violation(): void {
    const max = this.deps.security?.maxViolationsPerMinute;
    if (max === undefined) return;
    const now = Date.now();
    if (now - this.violationsSince > 60_000) {
      this.violations = 0;
      this.violationsSince = now;
    }
    if (++this.violations > max) this.close('PROTOCOL_VIOLATION', 'too many malformed frames');
  }

  private onClose(): void {
    clearTimeout(this.authTimer);
    for (const t of this.expiryTimers) clearTimeout(t);
    if (this.claimed && this.user) this.deps.security?.releaseUser(this.user.userId);
    if (!this.user) return;
    this.deps.chat.disconnect(this.id).catch((err: unknown) => this.deps.log.error({ err, session: this.id }, 'disconnect failed'));
  }
}
