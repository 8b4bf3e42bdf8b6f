import { hash, verify } from '@node-rs/argon2';
import type { PasswordHasher } from '../../core/ports.js';

/** OWASP's argon2id baseline: m = 19 MiB, t = 2, p = 1. Algorithm 2 = Argon2id (a const enum upstream). */
export const ARGON2ID_OWASP = { algorithm: 2, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

/**
 * argon2id on libuv's thread pool, at most `concurrency` hashes at a time so a burst of logins
 * cannot starve the pool (and with it file and DNS work) or the event loop.
 */
export class Argon2Hasher implements PasswordHasher {
  private running = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(private readonly concurrency = 2) {}

  hash(password: string): Promise<string> {
    return this.limited(() => hash(password, ARGON2ID_OWASP));
  }

  verify(hashed: string, password: string): Promise<boolean> {
    return this.limited(() => verify(hashed, password).catch(() => false));
  }

  private async limited<T>(work: () => Promise<T>): Promise<T> {
    if (this.running >= this.concurrency) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.running++;
    try {
      return await work();
    } finally {
      this.running--;
      this.waiting.shift()?.();
    }
  }
}
