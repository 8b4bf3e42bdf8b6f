/** Exponential backoff with full jitter: a delay drawn uniformly from [0, min(cap, base · 2^attempt)). */
export interface BackoffOptions {
  baseMs?: number;
  capMs?: number;
  /** A source of randomness in [0, 1) (tests pass a fixed one). */
  random?: () => number;
}

export function backoffDelay(attempt: number, { baseMs = 500, capMs = 20_000, random = Math.random }: BackoffOptions = {}): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.min(attempt, 30));
  return Math.floor(random() * ceiling);
}
