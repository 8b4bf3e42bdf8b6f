/**
 * Everything the UI shows, in one place: rooms with unread counts, each room's loaded messages (merged by seq from
 * the live feed and from history pages), pending sends, presence, typing, the connection state. Components read it
 * and call its methods; it notifies once per animation frame at most.
 */
import { NatterError } from '../../client/errors.js';
import type { Room } from '../../client/http-api.js';
import { NatterClient, type StateChange } from '../../client/natter-client.js';
import { newClientMsgId } from '../../client/outbox.js';
import type { UserRef, WireMessage } from '../../src/protocol/frames.js';
import type { Session } from './session.js';

export const PAGE = 50;
const TYPING_SHOWN_MS = 5_000;

export interface Pending {
  clientMsgId: string;
  room: string;
  body: string;
  createdAt: number;
  error?: string;
}

export interface RoomView {
  /** Loaded messages, ascending by seq, contiguous. */
  messages: WireMessage[];
  bySeq: Map<number, WireMessage>;
  /** Whether older messages than the first loaded exist. */
  hasOlder: boolean;
  loadingOlder: boolean;
  loaded: boolean;
  present: Map<string, UserRef>;
  typing: Map<string, { name: string; until: number }>;
}

export class ChatModel {
  readonly client: NatterClient;
  rooms: Room[] = [];
  current: string | null = null;
  connection: StateChange = { state: 'idle', attempt: 0 };
  online = navigator.onLine;
  notice: string | null = null;
  /** The last message from someone else, for the screen-reader live region. */
  announcement = '';
  readonly pending = new Map<string, Pending>();
  private readonly views = new Map<string, RoomView>();
  private readonly heads = new Map<string, number>();
  private readonly lastRead: Record<string, number>;
  private readonly listeners = new Set<() => void>();
  private frame = 0;
  private roomsTimer: ReturnType<typeof setInterval> | undefined;

  constructor(readonly session: Session, onLoggedOut: (reason: string) => void) {
    const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`;
    this.client = new NatterClient({ url, getToken: session.getToken });
    this.lastRead = JSON.parse(localStorage.getItem(this.readKey) ?? '{}') as Record<string, number>;
    this.client.on('state', (s) => {
      this.connection = s;
      if (s.state === 'unauthorized') onLoggedOut('Your session has expired. Please log in again.');
      if (s.state === 'connected') void this.loadRooms();
      this.changed();
    });
    this.client.on('message', (m) => this.onMessage(m));
    this.client.on('joined', (r) => {
      const v = this.view(r.room);
      v.present = new Map(r.members.map((u) => [u.id, u]));
      this.bumpHead(r.room, r.head);
      this.changed();
    });
    this.client.on('presence.joined', ({ room, user }) => (this.view(room).present.set(user.id, user), this.changed()));
    this.client.on('presence.left', ({ room, user }) => (this.view(room).present.delete(user.id), this.changed()));
    this.client.on('typing', ({ room, user }) => {
      this.view(room).typing.set(user.id, { name: user.name, until: Date.now() + TYPING_SHOWN_MS });
      this.changed();
      setTimeout(() => this.changed(), TYPING_SHOWN_MS + 50);
    });
    this.client.on('removed', ({ room, reason }) => {
      this.notice = `You were ${reason === 'banned' ? 'banned' : 'removed'} from ${this.rooms.find((r) => r.id === room)?.name ?? 'a room'}.`;
      if (this.current === room) this.current = null;
      void this.loadRooms();
    });
    this.client.on('error', (e) => {
      if (e.code === 'ROOM_NOT_FOUND') this.notice = 'That room is gone or you are no longer a member.';
      this.changed();
    });
    addEventListener('online', this.onOnline);
    addEventListener('offline', this.onOffline);
  }

  get me(): string {
    return this.session.user.id;
  }

  private get readKey(): string {
    return `natter.read.${this.session.user.id}`;
  }

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async start(): Promise<void> {
    this.client.connect();
    await this.loadRooms();
    this.roomsTimer = setInterval(() => void this.loadRooms(), 20_000);
  }

  stop(): void {
    clearInterval(this.roomsTimer);
    removeEventListener('online', this.onOnline);
    removeEventListener('offline', this.onOffline);
    this.client.close();
  }

  /** Reloads the room list and joins (live, from their current head) every room I belong to. */
  async loadRooms(): Promise<void> {
    try {
      this.rooms = await this.session.authed((t) => this.session.api.rooms(t));
    } catch {
      return; // offline: keep the list we have
    }
    for (const room of this.rooms) {
      this.bumpHead(room.id, room.last_seq ?? 0);
      if (room.member && !this.client.joinedRooms().includes(room.id)) {
        this.client.join(room.id, { since: room.last_seq ?? 0 }).catch(() => undefined);
      }
    }
    this.changed();
  }

  unread(room: Room): number {
    if (!room.member && !this.client.joinedRooms().includes(room.id)) return 0;
    return Math.max(0, (this.heads.get(room.id) ?? 0) - (this.lastRead[room.id] ?? 0));
  }

  view(room: string): RoomView {
    let v = this.views.get(room);
    if (!v) {
      v = { messages: [], bySeq: new Map(), hasOlder: true, loadingOlder: false, loaded: false, present: new Map(), typing: new Map() };
      this.views.set(room, v);
    }
    return v;
  }

  typingNames(room: string): string[] {
    const now = Date.now();
    return [...this.view(room).typing.values()].filter((t) => t.until > now).map((t) => t.name);
  }

  /** Opens a room: joins it (a public room makes me a member) and loads its newest page of history. */
  async open(room: string): Promise<void> {
    this.current = room;
    this.notice = null;
    this.changed();
    if (!this.client.joinedRooms().includes(room)) {
      try {
        await this.client.join(room, { since: this.heads.get(room) ?? 0 });
      } catch (err) {
        this.notice = err instanceof NatterError ? err.message : 'Could not open the room.';
        this.current = null;
        return this.changed();
      }
    }
    const v = this.view(room);
    if (!v.loaded) {
      const page = await this.session.authed((t) => this.session.api.history(t, room, { limit: PAGE })).catch(() => null);
      if (page) {
        this.merge(room, page);
        v.loaded = true;
        v.hasOlder = (page[0]?.seq ?? 1) > 1;
      }
    }
    this.markRead(room);
    this.changed();
  }

  async loadOlder(room: string): Promise<void> {
    const v = this.view(room);
    if (v.loadingOlder || !v.hasOlder || !v.loaded) return;
    v.loadingOlder = true;
    this.changed();
    const before = v.messages[0]?.seq;
    try {
      const page = await this.session.authed((t) => this.session.api.history(t, room, { before, limit: PAGE }));
      this.merge(room, page);
      v.hasOlder = page.length === PAGE && (page[0]?.seq ?? 1) > 1;
    } finally {
      v.loadingOlder = false;
      this.changed();
    }
  }

  send(room: string, body: string): void {
    const p: Pending = { clientMsgId: newClientMsgId(), room, body, createdAt: Date.now() };
    this.pending.set(p.clientMsgId, p);
    this.changed();
    this.client.send(room, body, { clientMsgId: p.clientMsgId }).catch((err: unknown) => {
      p.error = err instanceof NatterError ? err.message : 'not sent';
      this.changed();
    });
  }

  dismiss(clientMsgId: string): void {
    this.pending.delete(clientMsgId);
    this.changed();
  }

  pendingIn(room: string): Pending[] {
    return [...this.pending.values()].filter((p) => p.room === room);
  }

  markRead(room: string): void {
    const head = this.heads.get(room) ?? 0;
    if ((this.lastRead[room] ?? 0) >= head) return;
    this.lastRead[room] = head;
    localStorage.setItem(this.readKey, JSON.stringify(this.lastRead));
    this.changed();
  }

  async createRoom(name: string, visibility: 'public' | 'private'): Promise<void> {
    const room = await this.session.authed((t) => this.session.api.createRoom(t, name, visibility));
    await this.loadRooms();
    await this.open(room.id);
  }

  addMember(room: string, username: string): Promise<{ added: boolean }> {
    return this.session.authed((t) => this.session.api.addMember(t, room, username));
  }

  private onMessage(m: WireMessage): void {
    this.bumpHead(m.room, m.seq);
    if (m.client_msg_id !== null && m.sender.id === this.me) this.pending.delete(m.client_msg_id);
    const v = this.view(m.room);
    // Only extend a loaded window at its end; otherwise the next open loads history anyway.
    if (v.loaded && (v.messages.length === 0 || m.seq === v.messages[v.messages.length - 1]!.seq + 1)) this.merge(m.room, [m]);
    else if (v.loaded) void this.fillGap(m.room);
    if (m.sender.id !== this.me) {
      v.typing.delete(m.sender.id);
      if (m.room === this.current) this.announcement = `${m.sender.name}: ${m.body}`;
    }
    this.changed();
  }

  private async fillGap(room: string): Promise<void> {
    const v = this.view(room);
    const after = v.messages[v.messages.length - 1]?.seq ?? 0;
    const page = await this.session.authed((t) => this.session.api.history(t, room, { after, limit: 200 })).catch(() => []);
    this.merge(room, page);
    this.changed();
  }

  private merge(room: string, messages: WireMessage[]): void {
    const v = this.view(room);
    const added: WireMessage[] = [];
    for (const m of messages) {
      if (v.bySeq.has(m.seq)) continue;
      v.bySeq.set(m.seq, m);
      added.push(m);
      if (m.client_msg_id !== null && m.sender.id === this.me) this.pending.delete(m.client_msg_id);
    }
    if (added.length === 0) return;
    const last = v.messages[v.messages.length - 1];
    const ascending = added.every((m, i) => i === 0 || m.seq > added[i - 1]!.seq);
    // The common case (live messages at the end) appends; anything else re-sorts.
    if (last && ascending && added[0]!.seq > last.seq) v.messages = [...v.messages, ...added];
    else v.messages = [...v.bySeq.values()].sort((a, b) => a.seq - b.seq);
  }

  private bumpHead(room: string, seq: number): void {
    if (seq > (this.heads.get(room) ?? 0)) this.heads.set(room, seq);
  }

  private readonly onOnline = () => {
    this.online = true;
    this.client.reconnectNow();
    this.changed();
  };

  private readonly onOffline = () => {
    this.online = false;
    this.changed();
  };

  /** Schedules one notification for the next frame, however many changes happen before it. */
  changed(): void {
    if (this.frame) return;
    const notify = () => {
      this.frame = 0;
      for (const l of this.listeners) l();
    };
    // Background tabs get no animation frames; they still need their state (unread counts, title).
    this.frame = document.visibilityState === 'visible' ? requestAnimationFrame(notify) : (setTimeout(notify, 100) as unknown as number);
  }
}
