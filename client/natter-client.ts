/**
 * NatterClient: one WebSocket to natter that survives anything short of a revoked login.
 *
 * - authenticates with a first `auth` frame (the token never goes into a URL);
 * - reconnects with exponential backoff and full jitter, and re-joins every room with `since` = the last seq seen,
 *   dropping any seq it already has, so listeners see each room's messages once, in order, with no gap;
 * - keeps every `send` in an outbox under its `client_msg_id` and re-sends it after each reconnect until acked;
 * - refreshes the access token in band (an `auth` frame on the open socket) before it expires;
 * - answers every command with a promise that rejects with a NatterError on an error reply or a timeout.
 */
import type { CommandType, JoinResult, SendResult, ServerFrame, UserRef, WireMessage } from '../src/protocol/frames.js';
import { backoffDelay, type BackoffOptions } from './backoff.js';
import { Emitter } from './emitter.js';
import { NatterError } from './errors.js';
import { Outbox, type PendingSend } from './outbox.js';
import { Replies } from './replies.js';
import { RoomTracker } from './room-tracker.js';
import { globalSocket, OPEN, type SocketConstructor, type SocketLike } from './socket.js';
import { TokenRefresher } from './token-refresher.js';
import type { ClientEvents, ConnectionState, Fields, NatterClientOptions, Results, StateChange, TokenContext } from './types.js';

export type { ClientEvents, ConnectionState, NatterClientOptions, RoomEvent, StateChange, TokenContext } from './types.js';

/** 1008 (authentication failed), 4002 (token expired on an open socket), 4003 (sessions revoked): new token first. */
const TOKEN_CLOSES = new Set([1008, 4002, 4003]);
/** Closes after which the same client would fail the same way: binary/invalid/oversized frames, protocol abuse, too many sockets. */
const FINAL_CLOSES = new Set([1003, 1007, 1009, 4500, 4501]);
/** natter refuses frames over 64 KiB; keep sends well below so a huge body fails alone instead of closing the socket. */
const MAX_SEND_FRAME_BYTES = 60 * 1024;


export class NatterClient extends Emitter<ClientEvents> {
  private readonly opts: Required<Omit<NatterClientOptions, 'backoff' | 'WebSocket'>> & { backoff: BackoffOptions };
  private readonly Socket: SocketConstructor;
  private socket: SocketLike | null = null;
  private generation = 0;
  private authed = false;
  private current: StateChange = { state: 'idle', attempt: 0 };
  private readonly replies = new Replies();
  private readonly rooms = new RoomTracker();
  private readonly outbox = new Outbox();
  private lastFrameAt = 0;
  private readonly tokens: TokenRefresher;
  private authRejections = 0;
  private timers: { retry?: ReturnType<typeof setTimeout>; keepAlive?: ReturnType<typeof setInterval>; connect?: ReturnType<typeof setTimeout> } = {};
  private user: UserRef | null = null;

  constructor(options: NatterClientOptions) {
    super();
    const Socket = options.WebSocket ?? globalSocket();
    if (!Socket) throw new Error('natter: no global WebSocket; pass the `ws` constructor as the WebSocket option');
    this.Socket = Socket;
    this.opts = { commandTimeoutMs: 10_000, connectTimeoutMs: 10_000, refreshLeadMs: 60_000, keepAliveMs: 25_000, backoff: {}, ...options };
    this.tokens = new TokenRefresher({
      getToken: this.opts.getToken,
      leadMs: this.opts.refreshLeadMs,
      present: (token) => this.rawRequest('auth', { token }),
      generation: () => this.generation,
      onError: (error) => (error.temporary ? this.emit('error', error) : this.onTokenFailure(error)),
    });
  }

  get state(): ConnectionState {
    return this.current.state;
  }

  /** The authenticated user, once `hello` arrived. */
  get me(): UserRef | null {
    return this.user;
  }

  /** Starts connecting (and keeps reconnecting until `close`). */
  connect(): void {
    if (this.current.state !== 'idle' && this.current.state !== 'closed' && this.current.state !== 'unauthorized') return;
    this.authRejections = 0;
    void this.open('connecting', 'connect');
  }

  /** Closes for good: pending commands and sends reject with CLOSED. */
  close(): void {
    this.clearTimers();
    this.dropSocket(1000);
    this.setState({ state: 'closed', attempt: 0 });
    this.outbox.rejectAll(new NatterError('CLOSED', 'client closed', false));
    this.rooms.rejectWaiters(new NatterError('CLOSED', 'client closed', false));
  }

  /** Skips the backoff wait (e.g. when the browser says it is back online). */
  reconnectNow(): void {
    if (this.timers.retry === undefined) return; // not waiting for a retry
    clearTimeout(this.timers.retry);
    this.timers.retry = undefined;
    void this.open('reconnecting', 'connect');
  }

  /** Joins a room (now, or as soon as connected) and keeps it joined across reconnects. */
  join(room: string, options: { since?: number } = {}): Promise<JoinResult> {
    const result = this.rooms.want(room, options.since);
    if (this.authed) this.sendJoin(room);
    return result;
  }

  async leave(room: string): Promise<void> {
    if (!this.dropRoom(room, new NatterError('NOT_JOINED', 'left the room', false))) return;
    if (this.authed) await this.request('room.leave', { room });
  }

  joinedRooms(): string[] {
    return this.rooms.names();
  }

  /** The highest seq seen in a room (what a resume asks for). */
  lastSeq(room: string): number | null {
    return this.rooms.get(room)?.lastSeq ?? null;
  }

  /** Sends a message; resolves with the ack once committed, re-sending across reconnects until then. */
  send(room: string, body: string, options: { clientMsgId?: string } = {}): Promise<SendResult> {
    if (!this.rooms.has(room)) return Promise.reject(new NatterError('NOT_JOINED', `join ${room} before sending to it`, false));
    if (new TextEncoder().encode(body).length > MAX_SEND_FRAME_BYTES) {
      return Promise.reject(new NatterError('VALIDATION_FAILED', 'body: too long', false));
    }
    const { promise, entry } = this.outbox.add(room, body, options.clientMsgId);
    this.trySend(entry);
    return promise;
  }

  /** Messages sent but not yet acked, oldest first. */
  pending(room?: string): PendingSend[] {
    return this.outbox.list(room);
  }

  typing(room: string): Promise<Results['typing']> {
    return this.request('typing', { room });
  }

  async presence(room: string): Promise<UserRef[]> {
    return (await this.request('presence.list', { room })).members;
  }

  ping(): Promise<Results['ping']> {
    return this.request('ping', {});
  }

  /** Sends any command on the authenticated socket and resolves with its reply's data. */
  request<K extends Exclude<CommandType, 'auth'>>(type: K, fields: Fields<K>, timeoutMs?: number): Promise<Results[K]> {
    if (!this.authed) return Promise.reject(new NatterError('DISCONNECTED', 'not connected', true));
    return this.rawRequest(type, fields as Record<string, unknown>, timeoutMs) as Promise<Results[K]>;
  }

  // ---- connection lifecycle ------------------------------------------------------------------------------

  private async open(state: 'connecting' | 'reconnecting', reason: TokenContext['reason']): Promise<void> {
    const generation = ++this.generation;
    this.setState({ state, attempt: this.current.attempt });
    let token: string;
    try {
      token = await this.tokens.fetch(reason);
    } catch (err) {
      if (generation !== this.generation) return;
      return this.onTokenFailure(err);
    }
    if (generation !== this.generation) return;
    const socket = new this.Socket(this.opts.url) as SocketLike;
    this.socket = socket;
    this.timers.connect = setTimeout(() => generation === this.generation && this.lost(4000, 'connect timeout'), this.opts.connectTimeoutMs);
    socket.onopen = () => {
      if (generation !== this.generation) return;
      this.tokens.token = token;
      this.rawRequest('auth', { token }, this.opts.connectTimeoutMs).then(
        () => generation === this.generation && this.onAuthenticated(),
        () => undefined, // a refused token closes the socket with 1008, handled in onclose
      );
    };
    socket.onmessage = (ev) => generation === this.generation && this.onFrame(String(ev.data));
    socket.onclose = (ev) => generation === this.generation && this.lost(ev.code, ev.reason);
    socket.onerror = () => undefined; // always followed by close
  }

  private onAuthenticated(): void {
    clearTimeout(this.timers.connect);
    this.authed = true;
    this.authRejections = 0;
    this.tokens.schedule();
    this.setState({ state: 'connected', attempt: 0 });
    for (const room of this.rooms.names()) this.sendJoin(room);
    clearInterval(this.timers.keepAlive);
    if (this.opts.keepAliveMs > 0) this.timers.keepAlive = setInterval(() => this.keepAlive(), this.opts.keepAliveMs);
  }

  /** The socket is gone (closed, errored or judged dead): fail what waited on it and plan the next attempt. */
  private lost(code: number, reason: string): void {
    this.dropSocket(code);
    if (TOKEN_CLOSES.has(code)) {
      // The token was refused or expired: ask for a fresh one; a second refusal in a row means logged out.
      if (++this.authRejections >= 2) return this.setState({ state: 'unauthorized', attempt: 0, closeCode: code, reason });
      void this.open('reconnecting', 'rejected');
      return;
    }
    if (FINAL_CLOSES.has(code)) {
      // The server says reconnecting would not help without a change (see docs/protocol.md, close codes).
      this.emit('error', new NatterError('DISCONNECTED', `closed by the server (${code}${reason ? `: ${reason}` : ''})`, false));
      return this.setState({ state: 'closed', attempt: 0, closeCode: code, reason });
    }
    this.scheduleReconnect(code, reason);
  }

  private scheduleReconnect(closeCode?: number, reason?: string): void {
    const attempt = this.current.attempt;
    const retryInMs = backoffDelay(attempt, this.opts.backoff);
    this.setState({ state: 'reconnecting', attempt: attempt + 1, retryInMs, closeCode, reason });
    clearTimeout(this.timers.retry);
    this.timers.retry = setTimeout(() => {
      this.timers.retry = undefined;
      void this.open('reconnecting', 'connect');
    }, retryInMs);
  }

  private dropSocket(code: number): void {
    this.generation++;
    this.authed = false;
    clearTimeout(this.timers.connect);
    this.tokens.cancel();
    clearInterval(this.timers.keepAlive);
    const socket = this.socket;
    this.socket = null;
    if (socket) {
      socket.onopen = socket.onmessage = socket.onclose = null;
      try {
        socket.close(code === 1000 ? 1000 : 4000);
      } catch {
        // already closing
      }
    }
    this.replies.failAll(new NatterError('DISCONNECTED', 'connection lost', true));
    this.rooms.disconnected();
    this.outbox.disconnected();
  }

  private onTokenFailure(err: unknown): void {
    const error = err instanceof NatterError ? err : new NatterError('AUTH_FAILED', `getToken failed: ${String(err)}`, true);
    this.emit('error', error);
    if (error.temporary) return this.scheduleReconnect(undefined, error.message);
    this.dropSocket(1000);
    this.setState({ state: 'unauthorized', attempt: 0, reason: error.message });
  }

  private keepAlive(): void {
    if (!this.authed || Date.now() - this.lastFrameAt < this.opts.keepAliveMs) return;
    this.ping().catch((err: NatterError) => err.code === 'TIMEOUT' && this.lost(4000, 'keep-alive timeout'));
  }

  // ---- frames ---------------------------------------------------------------------------------------------

  private rawRequest(type: CommandType, fields: Record<string, unknown>, timeoutMs = this.opts.commandTimeoutMs): Promise<unknown> {
    const socket = this.socket;
    if (!socket || socket.readyState !== OPEN) return Promise.reject(new NatterError('DISCONNECTED', 'not connected', true));
    return this.replies.expect(type, timeoutMs, (id) => socket.send(JSON.stringify({ type, id, ...fields })));
  }

  private onFrame(text: string): void {
    this.lastFrameAt = Date.now();
    let frame: ServerFrame;
    try {
      frame = JSON.parse(text) as ServerFrame;
    } catch {
      return;
    }
    switch (frame.type) {
      case 'reply':
        return this.replies.settle(frame);
      case 'hello':
        this.user = frame.user;
        this.tokens.skewMs = Date.parse(frame.server_time) - Date.now();
        this.tokens.schedule();
        this.emit('hello', frame.user);
        return;
      case 'message':
        return this.onMessage(frame.message);
      case 'presence.joined':
      case 'presence.left':
      case 'typing':
        if (this.rooms.has(frame.room)) this.emit(frame.type, { room: frame.room, user: frame.user });
        return;
      case 'error':
        this.emit('error', new NatterError(frame.error.code, frame.error.message, frame.error.temporary));
        return;
      default:
        return this.onOtherPush(frame as { type: string; room?: unknown; reason?: unknown });
    }
  }

  /** Pushes newer servers send: `auth.expiring` (refresh now) and `room.removed` (kicked or banned). */
  private onOtherPush(frame: { type: string; room?: unknown; reason?: unknown }): void {
    if (frame.type === 'auth.expiring') {
      void this.tokens.refresh(true);
    } else if (frame.type === 'room.removed' && typeof frame.room === 'string') {
      const reason = String(frame.reason ?? 'removed');
      const err = new NatterError(reason === 'banned' ? 'FORBIDDEN' : 'ROOM_NOT_FOUND', `removed from the room (${reason})`, false);
      if (this.dropRoom(frame.room, err)) this.emit('removed', { room: frame.room, reason });
    }
  }

  private onMessage(message: WireMessage): void {
    const verdict = this.rooms.accept(message);
    if (verdict === 'deliver') this.emit('message', message);
    // A gap (never expected): drop it and replay from what we have. Duplicates and strangers are dropped.
    else if (verdict === 'gap' && this.authed) this.sendJoin(message.room);
  }

  // ---- rooms and sends ------------------------------------------------------------------------------------

  private sendJoin(room: string): void {
    const r = this.rooms.get(room);
    if (!r) return;
    const fields = this.rooms.joinFields(room);
    this.request('room.join', fields).then(
      (result) => {
        if (this.rooms.get(room) !== r) return;
        this.rooms.joined(r, result);
        this.emit('joined', result, fields.since !== undefined);
        for (const entry of this.outbox.list(room)) this.trySend(entry);
      },
      (err: NatterError) => {
        if (err.temporary || this.rooms.get(room) !== r) return; // retried on the next connection
        this.dropRoom(room, err);
        this.emit('error', err);
      },
    );
  }

  /** Forgets a room: its pending join and sends reject with `err`. */
  private dropRoom(room: string, err: NatterError): boolean {
    if (!this.rooms.drop(room, err)) return false;
    this.outbox.rejectRoom(room, err);
    return true;
  }

  private trySend(entry: PendingSend): void {
    const r = this.rooms.get(entry.room);
    if (!this.authed || !r?.joined || !this.outbox.claim(entry)) return;
    this.request('message.send', { room: entry.room, body: entry.body, client_msg_id: entry.clientMsgId }).then(
      (result) => {
        this.outbox.acked(entry, result);
        this.emit('ack', entry, result);
      },
      (err: NatterError) => {
        this.outbox.release(entry);
        if (!err.temporary) return this.outbox.reject(entry, err);
        // A timeout or a temporary server error: retry on this socket after a pause; a lost socket retries on rejoin.
        if (err.code !== 'DISCONNECTED') setTimeout(() => this.trySend(entry), backoffDelay(entry.attempts, this.opts.backoff) + 100);
      },
    );
  }

  private setState(change: StateChange): void {
    this.current = change;
    this.emit('state', change);
  }

  private clearTimers(): void {
    clearTimeout(this.timers.retry);
    this.tokens.cancel();
    clearTimeout(this.timers.connect);
    clearInterval(this.timers.keepAlive);
    this.timers = {};
  }
}
