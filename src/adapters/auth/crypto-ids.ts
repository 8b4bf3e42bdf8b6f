import { createHash, randomBytes } from 'node:crypto';
import type { IdGenerator, OpaqueTokens } from '../../core/ports.js';

/** 96 random bits as 16 URL-safe characters. */
export class RandomIds implements IdGenerator {
  next(): string {
    return randomBytes(12).toString('base64url');
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
