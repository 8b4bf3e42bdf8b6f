import { describe, expect, it } from 'vitest';
import { SortableIds } from '../../src/adapters/auth/crypto-ids.js';

describe('SortableIds', () => {
  it('gives 16 URL-safe characters', () => {
    const ids = new SortableIds();
    for (let i = 0; i < 2_000; i++) expect(ids.next()).toMatch(/^[A-Za-z0-9_-]{16}$/);
  });

  it('sorts by creation time as plain strings, across the alphabet', () => {
    let now = 1_700_000_000_000;
    const ids = new SortableIds(() => now);
    const made: string[] = [];
    for (let i = 0; i < 5_000; i++) {
      made.push(ids.next());
      now += 1 + (i % 7) * 13; // crosses many values of every time character
    }
    const sorted = [...made].sort();
    expect(sorted).toEqual(made);
  });

  it('keeps the time in the first 8 characters and randomness in the last 8', () => {
    const ids = new SortableIds(() => 1_800_000_000_000);
    const a = ids.next();
    const b = ids.next();
    expect(a.slice(0, 8)).toBe(b.slice(0, 8));
    expect(a.slice(8)).not.toBe(b.slice(8));
    const many = new Set(Array.from({ length: 10_000 }, () => ids.next()));
    expect(many.size).toBe(10_000);
  });
});
