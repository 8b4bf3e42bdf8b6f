import { createHash, randomBytes } from 'node:crypto';
import type { IdGenerator, OpaqueTokens } from '../../core/ports.js';

/** 96 random bits as 16 URL-safe characters, cut from a pooled buffer (one getrandom call per 512 ids). */
export class RandomIds implements IdGenerator {
  private pool = Buffer.alloc(0);
  private offset = 0;

  next(): string {
    if (this.offset + 12 > this.pool.length) {
      this.pool = randomBytes(12 * 512);
      this.offset = 0;
    }
    this.offset += 12;
    return this.pool.toString('base64url', this.offset - 12, this.offset);
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
