/** Builders for the store contract: unique names and ids per call, so suites may share one database. */
import { randomBytes } from 'node:crypto';
import { expect } from 'vitest';
import { ChatError } from '../../src/core/errors.js';
import type { AppendInput, RefreshTokenRecord, Store } from '../../src/core/ports.js';
import {
  asMessageId,
  asRoomId,
  asUserId,
  type Room,
  type UserRecord,
  type Visibility,
} from '../../src/core/types.js';
import type { ErrorCode } from '../../src/protocol/errors.js';

/** A unique lowercase token: `<prefix>-<random>`. */
export const unique = (prefix: string): string => `${prefix}-${randomBytes(6).toString('hex')}`;

export const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

export const T0 = 1_764_288_000_000; // 2025-11-28T00:00:00Z

export async function givenUser(store: Store, username = unique('user')): Promise<UserRecord> {
  const user: UserRecord = { id: asUserId(unique('u')), username, passwordHash: unique('hash'), createdAt: T0 };
  await store.createUser(user);
  return user;
}

export async function givenRoom(
  store: Store,
  owner: UserRecord,
  options: { name?: string; visibility?: Visibility } = {},
): Promise<Room> {
  const room: Room = {
    id: asRoomId(unique('r')),
    name: options.name ?? unique('room'),
    visibility: options.visibility ?? 'public',
    ownerId: owner.id,
    createdAt: T0 + 1,
  };
  await store.createRoom(room);
  return room;
}

export function messageFor(room: Room, sender: UserRecord, overrides: Partial<AppendInput> = {}): AppendInput {
  return {
    id: asMessageId(unique('m')),
    roomId: room.id,
    senderId: sender.id,
    senderName: sender.username,
    type: 'text',
    body: 'hello',
    clientMsgId: unique('c'),
    createdAt: T0 + 2,
    ...overrides,
  };
}

export function refreshTokenFor(user: UserRecord, overrides: Partial<RefreshTokenRecord> = {}): RefreshTokenRecord {
  return {
    id: unique('rt'),
    userId: user.id,
    familyId: unique('family'),
    tokenHash: randomBytes(32).toString('hex'),
    createdAt: T0,
    expiresAt: T0 + 30 * 86_400_000,
    usedAt: null,
    revokedAt: null,
    ...overrides,
  };
}

/** Asserts a rejection with a ChatError of that code (and the catalogue's temporary flag). */
export async function expectChatError(promise: Promise<unknown>, code: ErrorCode): Promise<ChatError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, `expected a ChatError ${code}`).toBeInstanceOf(ChatError);
  expect((error as ChatError).code).toBe(code);
  return error as ChatError;
}

/** Asserts a settled outcome is a rejection with a ChatError of that code. */
export function expectRejectedWith(outcome: PromiseSettledResult<unknown> | undefined, code: ErrorCode): void {
  expect(outcome?.status).toBe('rejected');
  const reason: unknown = outcome?.status === 'rejected' ? outcome.reason : undefined;
  expect(reason).toBeInstanceOf(ChatError);
  expect((reason as ChatError).code).toBe(code);
}
