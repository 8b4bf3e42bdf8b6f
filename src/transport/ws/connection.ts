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

/** Pushes shared by many sessions are encoded once. */
const encoded = new WeakMap<object, string>();
const encodeShared = (frame: Push): string => {
  let text = encoded.get(frame);
  if (text === undefined) encoded.set(frame, (text = encodeFrame(frame)));
  return text;
};

/** While replaying history, wait for the socket to drain once this much is queued. */
const DRAIN_ABOVE = 256 * 1024;

export interface ConnectionDeps {
  chat: ChatService;
  accessTokens: AccessTokens;
  log: FastifyBaseLogger;
  authTimeoutMs: number;
  metrics?: Metrics;
}

export class Connection implements SessionPort {
  readonly id: SessionId = asSessionId(randomBytes(9).toString('base64url'));
  private user: Principal | null = null;
  private authTimer: NodeJS.Timeout | undefined;
  /** Liveness: last time anything (a frame or a pong) arrived, and when the outstanding ping was sent. */
  lastSeen = Date.now();
  pingSentAt = 0;
  private corked = false;

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
    this.write(encodeShared(frame));
  }

  /**
   * Write coalescing: everything written to this socket during one event-loop turn (an ack and the pushes that
   * follow it, a page of history) leaves in one writev when the turn ends.
   */
  private write(text: string): void {
    if (this.ws.readyState !== this.ws.OPEN) return;
    if (!this.corked) {
      const socket = (this.ws as unknown as { _socket?: Socket })._socket;
      if (socket) {
        this.corked = true;
        socket.cork();
        setImmediate(() => {
          this.corked = false;
          socket.uncork();
        });
      }
    }
    this.ws.send(text);
  }

  async drained(): Promise<void> {
    const socket = (this.ws as unknown as { _socket?: Socket })._socket;
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

  private send(frame: ServerFrame): void {
    this.write(encodeFrame(frame));
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
      return;
    }
    void this.run(decoded.command);
  }

  private async authenticate(token: string, id: string | undefined): Promise<void> {
    clearTimeout(this.authTimer);
    try {
      const verified = await this.deps.accessTokens.verify(token);
      if (this.ws.readyState !== this.ws.OPEN) return;
      this.user = { userId: verified.userId, username: verified.username };
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
      if (id !== undefined) this.send({ type: 'reply', id, ok: true, data: { user: { id: verified.userId, name: verified.username } } });
    } catch (err) {
      this.replyError(id, isChatError(err) ? err.code : 'TOKEN_INVALID', 'token invalid');
    }
  }

  private onClose(): void {
    clearTimeout(this.authTimer);
    if (!this.user) return;
    this.deps.chat.disconnect(this.id).catch((err: unknown) => this.deps.log.error({ err, session: this.id }, 'disconnect failed'));
  }
}
