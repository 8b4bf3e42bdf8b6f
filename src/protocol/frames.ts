/**
 * WebSocket frames: client commands (with an `id` their reply echoes), server replies and pushes (no `id`).
 * Schemas are TypeBox, so the same definitions give JSON Schema (docs) and static types (server, SDK, bench).
 */
import { Type, type Static } from 'typebox';
import type { ErrorBody } from './errors.js';

export const CommandId = Type.String({ minLength: 1, maxLength: 64 });
export const RoomRef = Type.String({ minLength: 1, maxLength: 64 });
export const Seq = Type.Integer({ minimum: 0 });

const command = <T extends string, P extends Parameters<typeof Type.Object>[0]>(type: T, props: P) =>
  Type.Object({ type: Type.Literal(type), id: CommandId, ...props }, { additionalProperties: false });

export const AuthCommand = Type.Object(
  { type: Type.Literal('auth'), id: Type.Optional(CommandId), token: Type.String({ minLength: 1, maxLength: 8192 }) },
  { additionalProperties: false },
);
export const JoinCommand = command('room.join', { room: RoomRef, since: Type.Optional(Seq) });
export const LeaveCommand = command('room.leave', { room: RoomRef });
export const SendCommand = command('message.send', {
  room: RoomRef,
  body: Type.String({ maxLength: 65536 }),
  client_msg_id: Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9._:-]+$' }),
});
export const TypingCommand = command('typing', { room: RoomRef });
export const PresenceListCommand = command('presence.list', { room: RoomRef });
export const PingCommand = command('ping', {});

export const COMMAND_SCHEMAS = {
  auth: AuthCommand,
  'room.join': JoinCommand,
  'room.leave': LeaveCommand,
  'message.send': SendCommand,
  typing: TypingCommand,
  'presence.list': PresenceListCommand,
  ping: PingCommand,
} as const;

export type CommandType = keyof typeof COMMAND_SCHEMAS;
export type Command = { [K in CommandType]: Static<(typeof COMMAND_SCHEMAS)[K]> }[CommandType];
export type CommandOf<K extends CommandType> = Extract<Command, { type: K }>;

// ---- what the server sends -------------------------------------------------------------------------------

export interface UserRef {
  id: string;
  name: string;
}

export type MessageType = 'text' | 'system';

export interface WireMessage {
  id: string;
  room: string;
  seq: number;
  sender: UserRef;
  type: MessageType;
  body: string;
  client_msg_id: string | null;
  created_at: string; // ISO 8601, UTC
}

export interface JoinResult {
  room: string;
  /** The room's last committed seq when the join took effect. */
  head: number;
  /** Messages with seq > `from` follow this reply, then live messages — no gap, no duplicate. */
  from: number;
  members: UserRef[];
}

export interface SendResult {
  id: string;
  seq: number;
  created_at: string;
  duplicate: boolean;
}

export type OkReply = { type: 'reply'; id: string; ok: true; data: unknown };
export type ErrorReply = { type: 'reply'; id: string; ok: false; error: ErrorBody };
/** An error that belongs to no command (e.g. unparseable JSON, so no id could be read). */
export type ErrorPush = { type: 'error'; error: ErrorBody };

export type Push =
  | { type: 'hello'; user: UserRef; session: string; server_time: string }
  | { type: 'message'; message: WireMessage }
  | { type: 'presence.joined'; room: string; user: UserRef }
  | { type: 'presence.left'; room: string; user: UserRef }
  | { type: 'typing'; room: string; user: UserRef }
  /** The access token expires at `expires_at`: send an `auth` frame with a fresh one before `deadline`. */
  | { type: 'auth.expiring'; expires_at: string; deadline: string }
  /** The room owner removed (kicked) or banned this user: delivery for the room has ended. */
  | { type: 'room.removed'; room: string; reason: 'kicked' | 'banned' };

export type ServerFrame = OkReply | ErrorReply | ErrorPush | Push;
