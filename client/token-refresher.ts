/**
 * Keeps the socket's access token fresh: asks the app for a new one `leadMs` before `exp` (or when the server pushes
 * `auth.expiring`) and presents it in band. Only one getToken call runs at a time, so a rotating refresh token is
 * never spent twice, and server-triggered refreshes happen at most every MIN_REFRESH_GAP_MS.
 */
import { NatterError } from './errors.js';
import { jwtExpiry } from './jwt.js';
import type { TokenContext } from './types.js';

const MIN_REFRESH_GAP_MS = 5_000;
const RETRY_MS = 5_000;

export interface TokenRefresherDeps {
  getToken: (context: TokenContext) => string | Promise<string>;
  leadMs: number;
  /** Sends an `auth` frame with the token on the current socket; resolves when the server accepted it. */
  present: (token: string) => Promise<unknown>;
  /** Changes whenever the socket changes: a refresh started on an old socket is dropped. */
  generation: () => number;
  /** A refresh failed; temporary failures are retried here after RETRY_MS. */
  onError: (error: NatterError) => void;
}

export class TokenRefresher {
  /** The token the current socket authenticated with. */
  token = '';
  /** Server clock minus local clock, from `hello`. */
  skewMs = 0;
  private call: Promise<string> | null = null;
  private lastAt = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(private readonly deps: TokenRefresherDeps) {}

  /** One getToken call at a time: concurrent needs share it. */
  fetch(reason: TokenContext['reason']): Promise<string> {
    this.call ??= Promise.resolve()
      .then(() => this.deps.getToken({ reason }))
      .finally(() => (this.call = null));
    return this.call;
  }

  /** Plans the next refresh from the token's `exp`: `leadMs` before it, at most 90 % of the remaining life. */
  schedule(): void {
    this.cancel();
    const exp = jwtExpiry(this.token);
    if (exp === null) return;
    const remaining = exp * 1000 - (Date.now() + this.skewMs);
    const lead = Math.min(this.deps.leadMs, remaining * 0.9);
    this.timer = setTimeout(() => void this.refresh(), Math.max(0, remaining - lead));
  }

  /** Refreshes now; `soon` (the server asked) waits until MIN_REFRESH_GAP_MS after the previous refresh. */
  async refresh(soon = false): Promise<void> {
    const wait = this.lastAt + MIN_REFRESH_GAP_MS - Date.now();
    if (soon && wait > 0) {
      this.cancel();
      this.timer = setTimeout(() => void this.refresh(), wait);
      return;
    }
    const generation = this.deps.generation();
    this.lastAt = Date.now();
    try {
      const token = await this.fetch('expiring');
      if (generation !== this.deps.generation()) return;
      await this.deps.present(token);
      this.token = token;
      this.schedule();
    } catch (err) {
      if (generation !== this.deps.generation()) return;
      const error = err instanceof NatterError ? err : new NatterError('AUTH_FAILED', String(err), true);
      if (error.temporary) this.timer = setTimeout(() => void this.refresh(), RETRY_MS);
      this.deps.onError(error);
    }
  }

  cancel(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}
