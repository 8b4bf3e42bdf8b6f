import { describe, expect, it, vi } from 'vitest';
import { backoffDelay } from '../../client/backoff.js';
import { jwtExpiry } from '../../client/jwt.js';
import { newClientMsgId } from '../../client/outbox.js';

describe('backoff with full jitter', () => {
  it('draws from [0, min(cap, base * 2^attempt))', () => {
    const top = (attempt: number) => backoffDelay(attempt, { random: () => 0.999999 });
    expect([0, 1, 2, 3, 4, 5, 6, 10, 50].map(top)).toEqual([499, 999, 1999, 3999, 7999, 15999, 19999, 19999, 19999]);
    expect(backoffDelay(7, { random: () => 0 })).toBe(0);
    for (let i = 0; i < 100; i++) {
      const d = backoffDelay(3);
      expect(d).toBeGreaterThanOrEqual(0);
      expect(d).toBeLessThan(4000);
    }
  });
});

describe('helpers', () => {
  it('reads exp from a JWT and tolerates garbage', () => {
    const payload = Buffer.from(JSON.stringify({ sub: 'u', exp: 1_900_000_000 })).toString('base64url');
    expect(jwtExpiry(`e30.${payload}.sig`)).toBe(1_900_000_000);
    expect(jwtExpiry('nope')).toBeNull();
    expect(jwtExpiry('a.!!!.b')).toBeNull();
  });

  it('makes unique client_msg_ids the server accepts', () => {
    const ids = new Set(Array.from({ length: 1000 }, newClientMsgId));
    expect(ids.size).toBe(1000);
    for (const id of ids) expect(id).toMatch(/^[A-Za-z0-9._:-]{1,64}$/);
  });

  it('makes client_msg_ids that begin with the time, so later ones sort after earlier ones', () => {
    vi.useFakeTimers({ now: Date.UTC(2026, 11, 2, 12) });
    try {
      const first = newClientMsgId();
      vi.advanceTimersByTime(1);
      const next = newClientMsgId();
      vi.setSystemTime(Date.UTC(2030, 0, 1));
      const later = newClientMsgId();
      expect(first.slice(0, 9)).toBe(Date.UTC(2026, 11, 2, 12).toString(36).padStart(9, '0'));
      expect([later, next, first].sort()).toEqual([first, next, later]);
    } finally {
      vi.useRealTimers();
    }
  });
});
