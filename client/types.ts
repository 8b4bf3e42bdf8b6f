/** The SDK's public types: connection states, events, options, and the command → reply data map. */
import type { CommandOf, CommandType, JoinResult, SendResult, UserRef, WireMessage } from '../src/protocol/frames.js';
import type { BackoffOptions } from './backoff.js';
import type { NatterError } from './errors.js';
import type { PendingSend } from './outbox.js';
import type { SocketConstructor } from './socket.js';

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

export type Fields<K extends CommandType> = Omit<CommandOf<K>, 'type' | 'id'>;
export interface Results {
  auth: { user: UserRef };
  'room.join': JoinResult;
  'room.leave': { room: string };
  'message.send': SendResult;
  typing: { room: string };
  'presence.list': { room: string; members: UserRef[] };
  ping: { server_time: string };
}
