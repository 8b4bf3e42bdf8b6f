/** The HS256 secret: the configured one, or (development only) one generated once and kept under DATA_DIR. */
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Config } from './config.js';

/** A configured secret, or (development only) one generated once and kept in DATA_DIR with mode 0600. */
export function jwtSecret(config: Config): Uint8Array {
  if (config.jwtSecret !== null) return new TextEncoder().encode(config.jwtSecret);
  const file = join(config.dataDir, 'jwt-secret');
  if (!existsSync(file)) {
    mkdirSync(config.dataDir, { recursive: true });
    writeFileSync(file, randomBytes(48).toString('base64url'), { mode: 0o600 });
    chmodSync(file, 0o600);
  }
  return new TextEncoder().encode(readFileSync(file, 'utf8').trim());
}
