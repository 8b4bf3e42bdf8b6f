/**
 * The login session. The access token lives in memory only; the refresh token is kept in localStorage so a reload
 * stays logged in (tradeoff: script injection could read it — the app renders all text as text and is served with a
 * strict CSP; it is rotated on every use, and a stolen, already-used one revokes the whole session on the server).
 * Rotations are serialized across tabs with the Web Locks API, so two tabs never spend the same refresh token.
 */
import { NatterApi, type TokenPair, type User } from '../../client/http-api.js';
import { NatterError } from '../../client/errors.js';
import type { TokenContext } from '../../client/natter-client.js';

const KEY = 'natter.session';

interface Stored {
  refresh_token: string;
  user: User;
}

function load(): Stored | null {
  try {
    const raw = localStorage.getItem(KEY);
    return raw ? (JSON.parse(raw) as Stored) : null;
  } catch {
    return null;
  }
}

async function exclusive<T>(fn: () => Promise<T>): Promise<T> {
  const locks = (navigator as Navigator & { locks?: LockManager }).locks;
  return locks ? (locks.request('natter.refresh', fn) as Promise<T>) : fn();
}

export class Session {
  private accessToken: string;
  private accessExpiresAt: number;
  private refreshToken: string;
  readonly user: User;

  private constructor(readonly api: NatterApi, pair: TokenPair) {
    this.user = pair.user;
    this.accessToken = pair.access_token;
    this.accessExpiresAt = Date.now() + pair.expires_in * 1000;
    this.refreshToken = pair.refresh_token;
    this.save();
  }

  static start(api: NatterApi, pair: TokenPair): Session {
    return new Session(api, pair);
  }

  /** Resumes the stored session (rotating its refresh token); 'expired' if it no longer works, null if there is none. */
  static async restore(api: NatterApi): Promise<Session | 'expired' | null> {
    if (!load()) return null;
    try {
      const pair = await exclusive(async () => {
        const stored = load();
        if (!stored) throw new NatterError('TOKEN_INVALID', 'logged out', false);
        return api.refresh(stored.refresh_token);
      });
      return new Session(api, pair);
    } catch (err) {
      if (err instanceof NatterError && !err.temporary) {
        localStorage.removeItem(KEY);
        return 'expired';
      }
      throw err;
    }
  }

  /** For the SDK and REST calls: the current token while it has > 30 s left, else a rotated one. */
  getToken = async (context: TokenContext = { reason: 'connect' }): Promise<string> => {
    if (context.reason === 'connect' && this.accessExpiresAt - Date.now() > 30_000) return this.accessToken;
    return this.refresh();
  };

  private async refresh(): Promise<string> {
    const pair = await exclusive(async () => {
      const stored = load();
      if (!stored) throw new NatterError('TOKEN_INVALID', 'logged out in another tab', false);
      // Another tab may have rotated it already: always spend the newest one.
      return this.api.refresh(stored.refresh_token).catch((err: unknown) => {
        if (err instanceof NatterError && !err.temporary) localStorage.removeItem(KEY); // expired or revoked
        throw err;
      });
    });
    this.accessToken = pair.access_token;
    this.accessExpiresAt = Date.now() + pair.expires_in * 1000;
    this.refreshToken = pair.refresh_token;
    this.save();
    return this.accessToken;
  }

  async logout(): Promise<void> {
    const token = load()?.refresh_token ?? this.refreshToken;
    localStorage.removeItem(KEY);
    await this.api.logout(token).catch(() => undefined);
  }

  /** Runs a REST call with the access token, refreshing once if the server says it is no longer valid. */
  async authed<T>(call: (token: string) => Promise<T>): Promise<T> {
    try {
      return await call(await this.getToken());
    } catch (err) {
      if (!(err instanceof NatterError) || err.status !== 401) throw err;
      return call(await this.getToken({ reason: 'rejected' }));
    }
  }

  private save(): void {
    localStorage.setItem(KEY, JSON.stringify({ refresh_token: this.refreshToken, user: this.user } satisfies Stored));
  }
}
