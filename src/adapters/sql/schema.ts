/**
 * Kysely table types. Times are epoch-ms integers (bigint in PostgreSQL, read back as JS numbers).
 */
import type { Generated } from 'kysely';
import type { MessageType } from '../../protocol/frames.js';
import type { MemberRole, Visibility } from '../../core/types.js';

export interface UsersTable {
  id: string;
  username: string;
  /** Lowercased username: the unique key. */
  username_key: string;
  password_hash: string;
  created_at: number;
  /** Access tokens issued before this (epoch ms) are refused; 0: never revoked. */
  tokens_valid_after: Generated<number>;
}

export interface RoomBansTable {
  room_id: string;
  user_id: string;
  created_at: number;
}

export interface RoomsTable {
  id: string;
  name: string;
  /** Lowercased name: the unique key. */
  name_key: string;
  visibility: Visibility;
  owner_id: string;
  /** The last seq committed in the room (0: none). Advanced by the append transaction only. */
  last_seq: Generated<number>;
  /** The room's access revision (RoomStore in core/ports.ts): incremented by every kick that removed a member and every ban. */
  access_rev: Generated<number>;
  created_at: number;
}

export interface RoomMembersTable {
  room_id: string;
  user_id: string;
  role: MemberRole;
  created_at: number;
}

export interface MessagesTable {
  room_id: string;
  seq: number;
  id: string;
  sender_id: string;
  sender_name: string;
  type: MessageType;
  body: string;
  client_msg_id: string | null;
  created_at: number;
}

export interface RefreshTokensTable {
  id: string;
  user_id: string;
  family_id: string;
  token_hash: string;
  created_at: number;
  expires_at: number;
  used_at: number | null;
  revoked_at: number | null;
}

export interface Database {
  users: UsersTable;
  rooms: RoomsTable;
  room_members: RoomMembersTable;
  messages: MessagesTable;
  refresh_tokens: RefreshTokensTable;
  room_bans: RoomBansTable;
}

/** Names of the unique constraints the stores translate into domain errors. */
export const CONSTRAINTS = {
  usernameKey: { name: 'users_username_key_unique', table: 'users', column: 'username_key' },
  roomNameKey: { name: 'rooms_name_key_unique', table: 'rooms', column: 'name_key' },
} as const;
