/** Domain types. Branded ids are created only by parsers and generators. */
import type { MessageType } from '../protocol/frames.js';

declare const brand: unique symbol;
export type Brand<T, B extends string> = T & { readonly [brand]: B };
export type UserId = Brand<string, 'UserId'>;
export type RoomId = Brand<string, 'RoomId'>;
export type SessionId = Brand<string, 'SessionId'>;
export type MessageId = Brand<string, 'MessageId'>;

export const asUserId = (s: string) => s as UserId;
export const asRoomId = (s: string) => s as RoomId;
export const asSessionId = (s: string) => s as SessionId;
export const asMessageId = (s: string) => s as MessageId;

export type Visibility = 'public' | 'private';
export type MemberRole = 'owner' | 'member';

export interface User {
  id: UserId;
  username: string;
  createdAt: number; // epoch ms, UTC
}

export interface UserRecord extends User {
  passwordHash: string;
}

export interface Room {
  id: RoomId;
  name: string;
  visibility: Visibility;
  ownerId: UserId;
  createdAt: number;
}

export interface Message {
  id: MessageId;
  roomId: RoomId;
  seq: number;
  senderId: UserId;
  senderName: string;
  type: MessageType;
  body: string;
  clientMsgId: string | null;
  createdAt: number;
}

export interface Principal {
  userId: UserId;
  username: string;
}
