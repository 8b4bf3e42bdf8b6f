import { createHash, randomBytes } from 'node:crypto';
import type { IdGenerator, OpaqueTokens } from '../../core/ports.js';

/** base64url's 64 characters in ASCII order, so that ids compare as strings the way their bytes compare. */
const SORTED_ALPHABET = Buffer.from('-0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz', 'latin1');
const RANDOM_BYTES = 6;

/**
 * 16 URL-safe characters: 48 bits of the creation time in milliseconds, then 48 random bits (cut from a pooled
 * buffer, one getrandom call per 1,024 ids), in an alphabet whose order is ASCII order. Ids created one after the
 * other sort together, so a database index on them grows at its right edge instead of at a random page per
 * insert (twice as fast appends on SQLite: docs/benchmarks.md). 48 random bits within one millisecond keep
 * collisions out of reach (~2^24 ids in the same millisecond for an even chance). The time is not a secret: ids
 * tell when a thing was made, as its created_at does.
 */
export class SortableIds implements IdGenerator {
  private pool = Buffer.alloc(0);
  private offset = 0;
  private readonly bytes = Buffer.alloc(12);
  /** The id's 16 characters are written here and read out as one string (no string built piece by piece). */
  private readonly chars = Buffer.alloc(16);

  constructor(private readonly now: () => number = Date.now) {}

  next(): string {
    if (this.offset + RANDOM_BYTES > this.pool.length) {
      this.pool = randomBytes(RANDOM_BYTES * 1024);
      this.offset = 0;
    }
    this.bytes.writeUIntBE(Math.max(0, Math.floor(this.now())) % 2 ** 48, 0, 6);
    this.pool.copy(this.bytes, 6, this.offset, (this.offset += RANDOM_BYTES));
    for (let i = 0, c = 0; i < 12; i += 3, c += 4) {
      const n = (this.bytes[i]! << 16) | (this.bytes[i + 1]! << 8) | this.bytes[i + 2]!;
      this.chars[c] = SORTED_ALPHABET[n >>> 18]!;
      this.chars[c + 1] = SORTED_ALPHABET[(n >>> 12) & 63]!;
      this.chars[c + 2] = SORTED_ALPHABET[(n >>> 6) & 63]!;
      this.chars[c + 3] = SORTED_ALPHABET[n & 63]!;
    }
    return this.chars.toString('latin1');
  }
}

/** 256-bit opaque tokens; only their SHA-256 is ever stored. */
export class RandomOpaqueTokens implements OpaqueTokens {
  create(): { token: string; hash: string } {
    const token = randomBytes(32).toString('base64url');
    return { token, hash: this.hash(token) };
  }

  hash(token: string): string {
    return createHash('sha256').update(token).digest('hex');
  }
}
