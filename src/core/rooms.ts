/** Use cases for rooms: create, list, add members, read history. Every message goes through `post`. */
import { ChatError } from './errors.js';
import type { CoreDeps } from './deps.js';
import type { AppendResult, RoomAccess, RoomSummary } from './ports.js';
import {
  asMessageId,
  asRoomId,
  type Message,
  type Principal,
  type Room,
  type RoomId,
  type Visibility,
} from './types.js';
import { checkRoomName } from './validate.js';
import type { MessageType } from '../protocol/frames.js';

type RoomDeps = Pick<CoreDeps, 'store' | 'broker' | 'clock' | 'ids' | 'log' | 'metrics'>;

export type Removal = 'kicked' | 'banned';

export interface HistoryQuery {
  before?: number;
  after?: number;
  limit: number;
}

export const HISTORY_MAX = 200;

/** Why `user` may not read the room of `access` (undefined: no such room), or undefined when they may. */
export function refusal(access: RoomAccess | undefined, user: Principal): ChatError | undefined {
  if (!access || (access.room.visibility === 'private' && !access.member)) return new ChatError('ROOM_NOT_FOUND', 'no such room');
  if (access.room.visibility === 'public' && access.room.ownerId !== user.userId && access.banned) {
    return new ChatError('BANNED', 'you are banned from this room');
  }
  return undefined;
}

export class RoomService {
  constructor(private readonly deps: RoomDeps) {}

  /**
   * The one message path: commit (seq assigned, idempotent) → publish to every instance. The caller acks after
   * this resolves; the broker is a hint, the store is the record.
   */
  async post(room: RoomId, sender: Principal, type: MessageType, body: string, clientMsgId: string | null): Promise<AppendResult> {
    const result = await this.deps.store.append({
      id: asMessageId(this.deps.ids.next()),
      roomId: room,
      senderId: sender.userId,
      senderName: sender.username,
      type,
      body,
      clientMsgId,
      createdAt: this.deps.clock.now(),
    });
    if (!result.duplicate) this.publish(result.message);
    if (result.duplicate) this.deps.metrics?.count('messagesDuplicate');
    else this.deps.metrics?.count('messagesPersisted', { type });
    return result;
  }

  async create(owner: Principal, name: string, visibility: Visibility): Promise<Room> {
    const room: Room = {
      id: asRoomId(this.deps.ids.next()),
      name: checkRoomName(name),
      visibility,
      ownerId: owner.userId,
      createdAt: this.deps.clock.now(),
    };
    await this.deps.store.createRoom(room);
    await this.post(room.id, owner, 'system', `${owner.username} created the room`, null);
    return room;
  }

  list(user: Principal): Promise<RoomSummary[]> {
    return this.deps.store.listRoomsVisibleTo(user.userId);
  }

  /** Only the owner adds members to a private room; adding to a public room is allowed to its owner too. */
  async addMember(actor: Principal, roomId: RoomId, username: string): Promise<{ added: boolean; userId: string }> {
    const room = await this.requireReadable(actor, roomId);
    if (room.ownerId !== actor.userId) throw new ChatError('FORBIDDEN', 'only the room owner may add members');
    const user = await this.deps.store.findUserByName(username);
    if (!user) throw new ChatError('USER_NOT_FOUND', 'no such user');
    if (await this.deps.store.isBanned(room.id, user.id)) throw new ChatError('BANNED', 'this user is banned from the room');
    const added = await this.deps.store.addMember(room.id, user.id, 'member', this.deps.clock.now());
    if (added) await this.post(room.id, actor, 'system', `${actor.username} added ${user.username}`, null);
    return { added, userId: user.id };
  }

  /**
   * The owner removes (kick) or bans a member: the membership ends (a ban also bars rejoining and re-adding), and
   * every instance ends the user's live subscriptions to the room at once (through the broker's control path).
   * A kicked user may rejoin a public room; a private room needs the owner to add them again.
   */
  async remove(actor: Principal, roomId: RoomId, username: string, how: Removal): Promise<{ userId: string; removed: boolean }> {
    const room = await this.requireReadable(actor, roomId);
    if (room.ownerId !== actor.userId) throw new ChatError('FORBIDDEN', 'only the room owner may remove members');
    const user = await this.deps.store.findUserByName(username);
    if (!user) throw new ChatError('USER_NOT_FOUND', 'no such user');
    if (user.id === room.ownerId) throw new ChatError('FORBIDDEN', 'the owner cannot be removed');
    let removed: boolean;
    if (how === 'banned') {
      removed = !(await this.deps.store.isBanned(room.id, user.id));
      await this.deps.store.banMember(room.id, user.id, this.deps.clock.now());
    } else {
      removed = await this.deps.store.removeMember(room.id, user.id);
    }
    // Always broadcast: a public room's non-member may still hold a live subscription.
    await this.deps.broker.publishControl({ kind: 'room.removed', room: room.id, user: user.id, reason: how });
    if (removed) await this.post(room.id, actor, 'system', `${actor.username} ${how === 'banned' ? 'banned' : 'removed'} ${user.username}`, null);
    return { userId: user.id, removed };
  }

  async history(reader: Principal, roomId: RoomId, query: HistoryQuery): Promise<Message[]> {
    const room = await this.requireReadable(reader, roomId);
    const limit = Math.min(Math.max(query.limit, 1), HISTORY_MAX);
    if (query.before !== undefined && query.after !== undefined) {
      throw new ChatError('VALIDATION_FAILED', 'give either before or after, not both');
    }
    if (query.after !== undefined) return this.deps.store.readAfter(room.id, query.after, limit);
    return this.deps.store.readBefore(room.id, query.before ?? Number.MAX_SAFE_INTEGER, limit);
  }

  /**
   * A private room a user is not a member of answers ROOM_NOT_FOUND, so its existence does not leak; a user banned
   * from a public room gets BANNED.
   */
  async requireReadable(user: Principal, roomId: RoomId): Promise<Room> {
    return (await this.readable(user, roomId)).room;
  }

  /** As requireReadable, with whether the user is a member (one store read for both). */
  async readable(user: Principal, roomId: RoomId): Promise<RoomAccess> {
    const access = await this.deps.store.roomAccess(roomId, user.userId);
    const refused = refusal(access, user);
    if (refused) throw refused;
    return access!;
  }

  private publish(message: Message): void {
    this.deps.broker
      .publish(message.roomId, { kind: 'message', room: message.roomId, message })
      .catch((err: unknown) => this.deps.log.warn({ err, room: message.roomId, seq: message.seq }, 'publish failed; store heals'));
  }
}
