import type { Presence } from '../../core/ports.js';
import type { Principal, RoomId, SessionId, UserId } from '../../core/types.js';

interface Entry {
  principal: Principal;
  sessions: Set<SessionId>;
}

/** Presence for a single node: room -> user -> sessions. A user is present while any session is. */
export class MemoryPresence implements Presence {
  private readonly rooms = new Map<RoomId, Map<UserId, Entry>>();

  async add(room: RoomId, user: Principal, session: SessionId): Promise<boolean> {
    let users = this.rooms.get(room);
    if (!users) this.rooms.set(room, (users = new Map()));
    const entry = users.get(user.userId);
    if (entry) {
      entry.sessions.add(session);
      return false;
    }
    users.set(user.userId, { principal: user, sessions: new Set([session]) });
    return true;
  }

  async remove(room: RoomId, user: UserId, session: SessionId): Promise<boolean> {
    const users = this.rooms.get(room);
    const entry = users?.get(user);
    if (!users || !entry || !entry.sessions.delete(session)) return false;
    if (entry.sessions.size > 0) return false;
    users.delete(user);
    if (users.size === 0) this.rooms.delete(room);
    return true;
  }

  async list(room: RoomId): Promise<Principal[]> {
    return [...(this.rooms.get(room)?.values() ?? [])].map((e) => e.principal);
  }

  /** Sessions here live exactly as long as their connection in this process: nothing ever expires. */
  async expire(_rooms: RoomId[]): Promise<Array<{ room: RoomId; user: Principal }>> {
    return [];
  }

  /** Rooms with at least one present user (for tests and metrics: empty when everyone has left). */
  size(): number {
    return this.rooms.size;
  }

  async close(): Promise<void> {
    this.rooms.clear();
  }
}
