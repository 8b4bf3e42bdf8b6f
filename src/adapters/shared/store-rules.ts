/**
 * Rules every Store adapter applies the same way, so the memory and SQL stores cannot drift apart.
 */
import { ChatError } from '../../core/errors.js';
import type { AppendInput } from '../../core/ports.js';

/** The key usernames and room names are unique by: compared case-insensitively. */
export const nameKey = (name: string): string => name.toLowerCase();

/** Orders by name key in code-point order (what SQLite and PostgreSQL `COLLATE "C"` do on UTF-8 text). */
export function compareNameKeys(a: string, b: string): number {
  return Buffer.compare(Buffer.from(nameKey(a), 'utf8'), Buffer.from(nameKey(b), 'utf8'));
}

/** NUL or a lone UTF-16 surrogate: text that cannot be stored byte-exact (PostgreSQL refuses NUL outright). */
const UNSTORABLE = /[\u0000\p{Cs}]/u;

/**
 * Rejects, before anything is queued, an append whose text could not be stored byte-exact — so one bad
 * message can never fail a whole group-committed batch.
 */
export function checkAppendInput(input: AppendInput): ChatError | undefined {
  const fields = [input.id, input.roomId, input.senderId, input.senderName, input.body, input.clientMsgId ?? ''];
  if (fields.some((text) => UNSTORABLE.test(text))) {
    return new ChatError('VALIDATION_FAILED', 'Text must not contain NUL or lone surrogates.');
  }
  if (!Number.isSafeInteger(input.createdAt)) {
    return new ChatError('VALIDATION_FAILED', 'createdAt must be an integer (epoch ms).');
  }
  return undefined;
}

/** Key of the idempotency scope (room, sender, clientMsgId); unambiguous whatever the strings hold. */
export const idempotencyKey = (roomId: string, senderId: string, clientMsgId: string): string =>
  JSON.stringify([roomId, senderId, clientMsgId]);

/** A seq bound for a keyset read, as a safe integer in [0, 2^53 - 1] (NaN reads as 0). */
export const seqBound = (seq: number, round: (n: number) => number): number =>
  Number.isNaN(seq) ? 0 : Math.min(Number.MAX_SAFE_INTEGER, Math.max(0, round(seq)));

/** A read limit as a row count: non-integers floor, anything below 1 reads nothing. */
export const readLimit = (limit: number): number => seqBound(limit, Math.floor);

export const storeClosed = (): ChatError => new ChatError('UNAVAILABLE', 'The store is closed.');
