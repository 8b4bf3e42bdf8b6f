/**
 * One batch of appends inside its SQLite write transaction, on the event loop or the writer thread (PostgreSQL's
 * natter_append, migration 0003, does the same server-side). In this order:
 *   1. read the batch's rooms' last_seq (BEGIN IMMEDIATE already holds the database's single write lock, so a
 *      retry racing through another natter process on the same file is seen next);
 *   2. look up the (room, sender, clientMsgId) already stored; retries inside the batch resolve to the batch's
 *      first message;
 *   3. assign seqs last_seq+1… per room, insert the rows, then set the rooms' last_seq.
 * Answers one outcome per input, in order; a caller whose room does not exist gets ROOM_NOT_FOUND alone.
 */
import type { Selectable } from 'kysely';
import { ChatError } from '../../core/errors.js';
import type { AppendInput, AppendResult } from '../../core/ports.js';
import { asMessageId, asRoomId, asUserId, type Message } from '../../core/types.js';
import { idempotencyKey } from '../shared/store-rules.js';
import type { MessagesTable } from './schema.js';
import type { AppendStatements } from './sql-append-statements.js';

export type Outcome = { result: AppendResult } | { error: ChatError };

export function writeBatch(statements: AppendStatements, inputs: AppendInput[]): Outcome[] {
  const rooms = statements.readLastSeqs([...new Set(inputs.map((input) => input.roomId))]);
  const lastSeq = new Map(rooms.map((room) => [room.id, room.last_seq]));
  const keyed = inputs.flatMap(({ roomId, senderId, clientMsgId }) =>
    clientMsgId !== null && lastSeq.has(roomId) ? [{ roomId, senderId, clientMsgId }] : [],
  );
  const stored = new Map<string, Message>();
  if (keyed.length > 0) {
    for (const row of statements.findStored(keyed)) {
      stored.set(idempotencyKey(row.room_id, row.sender_id, row.client_msg_id ?? ''), toMessage(row));
    }
  }
  const fresh: Message[] = [];
  const outcomes = inputs.map((input): Outcome => {
    const last = lastSeq.get(input.roomId);
    if (last === undefined) return { error: new ChatError('ROOM_NOT_FOUND', 'No such room.') };
    const key = input.clientMsgId === null ? undefined : idempotencyKey(input.roomId, input.senderId, input.clientMsgId);
    const first = key === undefined ? undefined : stored.get(key);
    if (first) return { result: { message: first, duplicate: true } };
    const message = newMessage(input, last + 1);
    lastSeq.set(input.roomId, message.seq);
    if (key !== undefined) stored.set(key, message);
    fresh.push(message);
    return { result: { message, duplicate: false } };
  });
  if (fresh.length > 0) {
    statements.insertMessages(fresh);
    const advanced = new Map(fresh.map((message) => [message.roomId as string, message.seq]));
    statements.setLastSeqs([...advanced]);
  }
  return outcomes;
}

/** The stored message an input becomes (every Message the SQL store answers has this one shape). */
export function newMessage(input: AppendInput, seq: number): Message {
  const { id, roomId, senderId, senderName, type, body, clientMsgId, createdAt } = input;
  return { id, roomId, seq, senderId, senderName, type, body, clientMsgId, createdAt };
}

export function toMessage(row: Selectable<MessagesTable>): Message {
  return {
    id: asMessageId(row.id),
    roomId: asRoomId(row.room_id),
    seq: row.seq,
    senderId: asUserId(row.sender_id),
    senderName: row.sender_name,
    type: row.type,
    body: row.body,
    clientMsgId: row.client_msg_id,
    createdAt: row.created_at,
  };
}
