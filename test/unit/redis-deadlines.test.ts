import { afterEach, describe, expect, it, vi } from 'vitest';
import { CommandTimeoutError, commandDeadlines } from '../../src/adapters/redis/redis-connection.js';

afterEach(() => {
  vi.useRealTimers();
});

describe('commandDeadlines (one sweep timer for every Redis command)', () => {
  it('passes replies and errors through', async () => {
    const timed = commandDeadlines(1_000);
    await expect(timed(Promise.resolve(42))).resolves.toBe(42);
    await expect(timed(Promise.reject(new Error('WRONGTYPE')))).rejects.toThrow('WRONGTYPE');
  });

  it('rejects a command unanswered after the timeout, not before, and leaves answered ones alone', async () => {
    vi.useFakeTimers();
    const timed = commandDeadlines(2_000, 100);
    let answer!: (v: string) => void;
    const answered = timed(new Promise<string>((resolve) => (answer = resolve)));
    const silent = timed(new Promise<string>(() => undefined));
    const outcome = silent.then(
      () => 'resolved',
      (err: unknown) => err,
    );
    await vi.advanceTimersByTimeAsync(1_500);
    answer('OK');
    await expect(answered).resolves.toBe('OK');
    await vi.advanceTimersByTimeAsync(400);
    expect(await Promise.race([outcome, Promise.resolve('pending')])).toBe('pending');
    await vi.advanceTimersByTimeAsync(300);
    const err = await outcome;
    expect(err).toBeInstanceOf(CommandTimeoutError);
    expect(vi.getTimerCount()).toBe(0); // the sweeper stops when nothing waits
  });
});
