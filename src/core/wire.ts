/** Domain -> wire shapes (the protocol's JSON). */
import type { UserRef, WireMessage } from '../protocol/frames.js';
import type { Message, Principal, Room, User } from './types.js';
import type { RoomSummary } from './ports.js';

/**
 * Epoch ms -> ISO 8601 UTC. The last answer is remembered: a message's ack and its push carry the same time, and
 * messages of one batch share the millisecond (toISOString costs ~0.7 µs, on every message twice).
 */
let lastMs = Number.NaN;
let lastIso = '';
export const isoTime = (ms: number): string => {
  if (ms !== lastMs) {
    lastIso = new Date(ms).toISOString();
    lastMs = ms;
  }
  return lastIso;
};

export const toWireMessage = (m: Message): WireMessage => ({
  id: m.id,
  room: m.roomId,
  seq: m.seq,
  sender: { id: m.senderId, name: m.senderName },
  type: m.type,
  body: m.body,
  client_msg_id: m.clientMsgId,
  created_at: isoTime(m.createdAt),
});

export const toUserRef = (p: Principal): UserRef => ({ id: p.userId, name: p.username });

export const toWireUser = (u: User) => ({ id: u.id, username: u.username, created_at: isoTime(u.createdAt) });

export const toWireRoom = (r: Room | RoomSummary) => ({
  id: r.id,
  name: r.name,
  visibility: r.visibility,
  owner_id: r.ownerId,
  created_at: isoTime(r.createdAt),
  ...('lastSeq' in r ? { member: r.member, last_seq: r.lastSeq } : {}),
});
