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
import type { CommandOf, CommandType, JoinResult, SendResult, ServerFrame, UserRef, WireMessage } from '../src/protocol/frames.js';
import { backoffDelay, type BackoffOptions } from './backoff.js';
import { Emitter } from './emitter.js';
import { NatterError } from './errors.js';
import { jwtExpiry } from './jwt.js';
import { Outbox, type PendingSend } from './outbox.js';
import { globalSocket, OPEN, type SocketConstructor, type SocketLike } from './socket.js';

export type ConnectionState = 'idle' | 'connecting' | 'connected' | 'reconnecting' | 'closed' | 'unauthorized';

export interface StateChange {
  state: ConnectionState;
  /** Reconnect attempts since the last successful authentication. */
  attempt: number;
  /** When `reconnecting`: how long until the next attempt. */
  retryInMs?: number;
  /** Why the last socket ended, when known. */
  closeCode?: number;
  reason?: string;
}

export interface RoomEvent {
  room: string;
  user: UserRef;
}

export interface ClientEvents {
  state: (change: StateChange) => void;
  /** Authenticated (first connect and every reconnect). */
  hello: (user: UserRef) => void;
  /** A room was (re)joined on the current socket: `members` is who is present now. */
  joined: (result: JoinResult, resumed: boolean) => void;
  /** Each message once per room, in seq order. */
  message: (message: WireMessage) => void;
  'presence.joined': (event: RoomEvent) => void;
  'presence.left': (event: RoomEvent) => void;
  typing: (event: RoomEvent) => void;
  /** The server ended this user's membership of a room (kicked or banned): it is no longer joined. */
  removed: (event: { room: string; reason: string }) => void;
  /** A send was acked (also resolved through the promise `send` returned). */
  ack: (pending: PendingSend, result: SendResult) => void;
  /** Something went wrong that no promise reports (a refused join on reconnect, a failed token refresh…). */
  error: (error: NatterError) => void;
}

export interface TokenContext {
  /** `connect`: any valid token will do; `expiring`/`rejected`: the last one is about to expire or was refused. */
  reason: 'connect' | 'expiring' | 'rejected';
}

export interface NatterClientOptions {
  /** `ws://host:port/ws` (or `wss://`). */
  url: string;
  /** Returns a valid access token; called on every connect and before expiry. Throw a non-temporary NatterError to log out. */
  getToken: (context: TokenContext) => string | Promise<string>;
  /** A WebSocket constructor; defaults to the global one (browsers, Node ≥ 22). On Node 20 pass `ws`. */
  WebSocket?: SocketConstructor;
  backoff?: BackoffOptions;
  /** How long a command waits for its reply (default 10 s). */
  commandTimeoutMs?: number;
  /** How long opening and authenticating may take before the attempt is abandoned (default 10 s). */
  connectTimeoutMs?: number;
  /** Refresh the access token this long before it expires (default 60 s; at most 90 % of its remaining life). */
  refreshLeadMs?: number;
  /** Probe a silent connection with `ping` after this long; a missing reply means it is dead (default 25 s, 0 = off). */
  keepAliveMs?: number;
}

/** 1008 (authentication failed), 4002 (token expired on an open socket), 4003 (sessions revoked): new token first. */
const TOKEN_CLOSES = new Set([1008, 4002, 4003]);
/** Closes after which the same client would fail the same way: binary/invalid/oversized frames, protocol abuse, too many sockets. */
const FINAL_CLOSES = new Set([1003, 1007, 1009, 4500, 4501]);
/** However often the server asks (`auth.expiring`), refresh at most this often. */
const MIN_REFRESH_GAP_MS = 5_000;
/** natter refuses frames over 64 KiB; keep sends well below so a huge body fails alone instead of closing the socket. */
const MAX_SEND_FRAME_BYTES = 60 * 1024;

type Fields<K extends CommandType> = Omit<CommandOf<K>, 'type' | 'id'>;
interface Results {
  auth: { user: UserRef };
  'room.join': JoinResult;
  'room.leave': { room: string };
  'message.send': SendResult;
  typing: { room: string };
  'presence.list': { room: string; members: UserRef[] };
  ping: { server_time: string };
}
interface Waiting {
  resolve: (data: unknown) => void;
  reject: (err: NatterError) => void;
  timer: ReturnType<typeof setTimeout>;
}
interface RoomState {
  /** The highest seq delivered to listeners (null until the first join answers). */
  lastSeq: number | null;
  joined: boolean;
  waiters: Array<{ resolve: (r: JoinResult) => void; reject: (e: NatterError) => void }>;
}

export class NatterClient extends Emitter<ClientEvents> {
  private readonly opts: Required<Omit<NatterClientOptions, 'backoff' | 'WebSocket'>> & { backoff: BackoffOptions };
  private readonly Socket: SocketConstructor;
  private socket: SocketLike | null = null;
  private generation = 0;
  private authed = false;
  private current: StateChange = { state: 'idle', attempt: 0 };
  private readonly waiting = new Map<string, Waiting>();
  private readonly rooms = new Map<string, RoomState>();
  private readonly outbox = new Outbox();
  private nextId = 0;
  private lastFrameAt = 0;
  private skewMs = 0;
  private token = '';
  private tokenCall: Promise<string> | null = null;
  private lastRefreshAt = 0;
  private authRejections = 0;
  private timers: { retry?: ReturnType<typeof setTimeout>; refresh?: ReturnType<typeof setTimeout>; keepAlive?: ReturnType<typeof setInterval>; connect?: ReturnType<typeof setTimeout> } = {};
  private user: UserRef | null = null;

  constructor(options: NatterClientOptions) {
    super();
    const Socket = options.WebSocket ?? globalSocket();
    if (!Socket) throw new Error('natter: no global WebSocket; pass the `ws` constructor as the WebSocket option');
    this.Socket = Socket;
    this.opts = { commandTimeoutMs: 10_000, connectTimeoutMs: 10_000, refreshLeadMs: 60_000, keepAliveMs: 25_000, backoff: {}, ...options };
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
    for (const [room, r] of this.rooms) this.failJoin(room, r, new NatterError('CLOSED', 'client closed', false), true);
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
    let r = this.rooms.get(room);
    if (!r) this.rooms.set(room, (r = { lastSeq: options.since ?? null, joined: false, waiters: [] }));
    else if (options.since !== undefined) r.lastSeq = options.since;
    const result = new Promise<JoinResult>((resolve, reject) => r.waiters.push({ resolve, reject }));
    if (this.authed) this.sendJoin(room);
    return result;
  }

  async leave(room: string): Promise<void> {
    const r = this.rooms.get(room);
    if (!r) return;
    this.rooms.delete(room);
    this.failJoin(room, r, new NatterError('NOT_JOINED', 'left the room', false), true);
    if (this.authed) await this.request('room.leave', { room });
  }

  joinedRooms(): string[] {
    return [...this.rooms.keys()];
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
      token = await this.fetchToken(reason);
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
      this.token = token;
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
    this.scheduleRefresh();
    this.setState({ state: 'connected', attempt: 0 });
    for (const room of this.rooms.keys()) this.sendJoin(room);
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
    clearTimeout(this.timers.refresh);
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
    for (const [id, w] of this.waiting) {
      clearTimeout(w.timer);
      w.reject(new NatterError('DISCONNECTED', 'connection lost', true));
      this.waiting.delete(id);
    }
    for (const r of this.rooms.values()) r.joined = false;
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

  private scheduleRefresh(): void {
    clearTimeout(this.timers.refresh);
    const exp = jwtExpiry(this.token);
    if (exp === null) return;
    const remaining = exp * 1000 - (Date.now() + this.skewMs);
    const lead = Math.min(this.opts.refreshLeadMs, remaining * 0.9);
    this.timers.refresh = setTimeout(() => void this.refreshToken(), Math.max(0, remaining - lead));
  }

  /** One getToken call at a time: concurrent needs share it, so a refresh token is never spent twice. */
  private fetchToken(reason: TokenContext['reason']): Promise<string> {
    this.tokenCall ??= Promise.resolve()
      .then(() => this.opts.getToken({ reason }))
      .finally(() => (this.tokenCall = null));
    return this.tokenCall;
  }

  /** In-band refresh; `soon` (a server `auth.expiring`) waits until MIN_REFRESH_GAP_MS after the last one. */
  private async refreshToken(soon = false): Promise<void> {
    const wait = this.lastRefreshAt + MIN_REFRESH_GAP_MS - Date.now();
    if (soon && wait > 0) {
      clearTimeout(this.timers.refresh);
      this.timers.refresh = setTimeout(() => void this.refreshToken(), wait);
      return;
    }
    const generation = this.generation;
    this.lastRefreshAt = Date.now();
    try {
      const token = await this.fetchToken('expiring');
      if (generation !== this.generation) return;
      await this.rawRequest('auth', { token });
      this.token = token;
      this.scheduleRefresh();
    } catch (err) {
      if (generation !== this.generation) return;
      const error = err instanceof NatterError ? err : new NatterError('AUTH_FAILED', String(err), true);
      if (!error.temporary) return this.onTokenFailure(error);
      this.emit('error', error);
      this.timers.refresh = setTimeout(() => void this.refreshToken(), 5_000);
    }
  }

  // ---- frames ---------------------------------------------------------------------------------------------

  private rawRequest(type: CommandType, fields: Record<string, unknown>, timeoutMs = this.opts.commandTimeoutMs): Promise<unknown> {
    const socket = this.socket;
    if (!socket || socket.readyState !== OPEN) return Promise.reject(new NatterError('DISCONNECTED', 'not connected', true));
    const id = `c${++this.nextId}`;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        reject(new NatterError('TIMEOUT', `${type}: no reply in ${timeoutMs} ms`, true));
      }, timeoutMs);
      this.waiting.set(id, { resolve, reject, timer });
      socket.send(JSON.stringify({ type, id, ...fields }));
    });
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
      case 'reply': {
        const w = this.waiting.get(frame.id);
        if (!w) return;
        this.waiting.delete(frame.id);
        clearTimeout(w.timer);
        if (frame.ok) w.resolve(frame.data);
        else w.reject(new NatterError(frame.error.code, frame.error.message, frame.error.temporary));
        return;
      }
      case 'hello':
        this.user = frame.user;
        this.skewMs = Date.parse(frame.server_time) - Date.now();
        this.scheduleRefresh();
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
      void this.refreshToken(true);
    } else if (frame.type === 'room.removed' && typeof frame.room === 'string') {
      const r = this.rooms.get(frame.room);
      if (!r) return;
      this.rooms.delete(frame.room);
      const reason = String(frame.reason ?? 'removed');
      this.failJoin(frame.room, r, new NatterError(reason === 'banned' ? 'FORBIDDEN' : 'ROOM_NOT_FOUND', `removed from the room (${reason})`, false), true);
      this.emit('removed', { room: frame.room, reason });
    }
  }

  private onMessage(message: WireMessage): void {
    const r = this.rooms.get(message.room);
    if (!r || (r.lastSeq !== null && message.seq <= r.lastSeq)) return; // not ours, or a duplicate
    if (r.lastSeq !== null && message.seq > r.lastSeq + 1) {
      // A gap (never expected): drop it and replay from what we have.
      if (this.authed) this.sendJoin(message.room);
      return;
    }
    r.lastSeq = message.seq;
    this.emit('message', message);
  }

  // ---- rooms and sends ------------------------------------------------------------------------------------

  private sendJoin(room: string): void {
    const r = this.rooms.get(room);
    if (!r) return;
    const resumed = r.lastSeq !== null;
    const fields = r.lastSeq === null ? { room } : { room, since: r.lastSeq };
    this.request('room.join', fields).then(
      (result) => {
        if (this.rooms.get(room) !== r) return;
        r.lastSeq ??= result.from;
        r.joined = true;
        for (const w of r.waiters.splice(0)) w.resolve(result);
        this.emit('joined', result, resumed);
        for (const entry of this.outbox.list(room)) this.trySend(entry);
      },
      (err: NatterError) => {
        if (err.temporary || this.rooms.get(room) !== r) return; // retried on the next connection
        this.rooms.delete(room);
        this.failJoin(room, r, err, false);
      },
    );
  }

  private failJoin(room: string, r: RoomState, err: NatterError, silent: boolean): void {
    for (const w of r.waiters.splice(0)) w.reject(err);
    this.outbox.rejectRoom(room, err);
    if (!silent) this.emit('error', err);
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
    clearTimeout(this.timers.refresh);
    clearTimeout(this.timers.connect);
    clearInterval(this.timers.keepAlive);
    this.timers = {};
  }
}
