/** The REST half of natter (accounts, rooms, history) over `fetch`, with typed results and NatterError failures. */
import type { ErrorBody } from '../src/protocol/errors.js';
import type { WireMessage } from '../src/protocol/frames.js';
import { NatterError } from './errors.js';

export interface User {
  id: string;
  username: string;
  created_at: string;
}

export interface TokenPair {
  token_type: 'Bearer';
  access_token: string;
  /** Seconds until the access token expires. */
  expires_in: number;
  refresh_token: string;
  refresh_expires_in: number;
  user: User;
}

export interface Room {
  id: string;
  name: string;
  visibility: 'public' | 'private';
  owner_id: string;
  created_at: string;
  /** Whether the caller is a member (present when the server knows it). */
  member?: boolean;
  /** The room's last seq (present when the server reports it). */
  last_seq?: number;
}

export interface HistoryQuery {
  before?: number;
  after?: number;
  limit?: number;
}

export interface NatterApiOptions {
  /** Base URL of natter, e.g. `http://localhost:8080`; `''` (default) means same origin (browsers). */
  baseUrl?: string;
  fetch?: typeof fetch;
}

export class NatterApi {
  private readonly base: string;
  private readonly fetchFn: typeof fetch;

  constructor(options: NatterApiOptions = {}) {
    this.base = (options.baseUrl ?? '').replace(/\/$/, '');
    this.fetchFn = options.fetch ?? ((input, init) => fetch(input, init));
  }

  register(username: string, password: string): Promise<TokenPair> {
    return this.call('POST', '/api/auth/register', undefined, { username, password });
  }

  login(username: string, password: string): Promise<TokenPair> {
    return this.call('POST', '/api/auth/login', undefined, { username, password });
  }

  /** Rotates the refresh token: the one passed in is spent; keep the new one. */
  refresh(refreshToken: string): Promise<TokenPair> {
    return this.call('POST', '/api/auth/refresh', undefined, { refresh_token: refreshToken });
  }

  async logout(refreshToken: string): Promise<void> {
    await this.call('POST', '/api/auth/logout', undefined, { refresh_token: refreshToken });
  }

  me(token: string): Promise<User> {
    return this.call('GET', '/api/me', token);
  }

  async rooms(token: string): Promise<Room[]> {
    return (await this.call<{ rooms: Room[] }>('GET', '/api/rooms', token)).rooms;
  }

  createRoom(token: string, name: string, visibility: 'public' | 'private' = 'public'): Promise<Room> {
    return this.call('POST', '/api/rooms', token, { name, visibility });
  }

  addMember(token: string, room: string, username: string): Promise<{ user_id: string; added: boolean }> {
    return this.call('POST', `/api/rooms/${encodeURIComponent(room)}/members`, token, { username });
  }

  /** Messages ascending by seq: the newest `limit`, or just below `before`, or just above `after`. */
  async history(token: string, room: string, query: HistoryQuery = {}): Promise<WireMessage[]> {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) if (v !== undefined) params.set(k, String(v));
    const qs = params.size > 0 ? `?${params}` : '';
    return (await this.call<{ messages: WireMessage[] }>('GET', `/api/rooms/${encodeURIComponent(room)}/messages${qs}`, token)).messages;
  }

  private async call<T>(method: string, path: string, token?: string, body?: unknown): Promise<T> {
    let res: Response;
    try {
      res = await this.fetchFn(`${this.base}${path}`, {
        method,
        headers: {
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          ...(token ? { authorization: `Bearer ${token}` } : {}),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (err) {
      throw new NatterError('DISCONNECTED', `network error: ${(err as Error).message}`, true);
    }
    const text = await res.text();
    const json = text ? (JSON.parse(text) as unknown) : undefined;
    if (!res.ok) {
      const error = (json as { error?: ErrorBody } | undefined)?.error;
      throw new NatterError(error?.code ?? 'INTERNAL', error?.message ?? `HTTP ${res.status}`, error?.temporary ?? res.status >= 500, res.status);
    }
    return json as T;
  }
}
