import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, readEnv } from '../../src/config.js';

describe('config', () => {
  it('has working embedded defaults', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({ port: 8080, env: 'development', jwtSecret: null, maxBodyChars: 4000, accessTokenTtlSeconds: 900 });
    expect(c.databaseUrl).toMatch(/^sqlite:.*natter\.db$/);
    expect(Object.isFrozen(c)).toBe(true);
  });

  it('lists every problem at once', () => {
    let error: ConfigError | undefined;
    try {
      loadConfig({ PORT: 'eighty', NODE_ENV: 'production', DATABASE_URL: 'mysql://x', LOG_LEVEL: 'loud', MESSAGE_MAX_CHARS: '0' });
    } catch (e) {
      error = e as ConfigError;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect(error!.problems).toHaveLength(5);
    expect(error!.message).toMatch(/PORT/);
    expect(error!.message).toMatch(/JWT_SECRET is required/);
  });

  it('refuses a short JWT secret', () => {
    expect(() => loadConfig({ JWT_SECRET: 'short' })).toThrow(/at least 32 bytes/);
  });

  it('reads .env under the environment, which wins', () => {
    const dir = mkdtempSync(join(tmpdir(), 'natter-env-'));
    const file = join(dir, '.env');
    writeFileSync(file, 'PORT=9000\nHISTORY_ON_JOIN=7\n# comment\n');
    const env = readEnv({ PORT: '9100' }, file);
    expect(loadConfig(env)).toMatchObject({ port: 9100, historyOnJoin: 7 });
  });
});
