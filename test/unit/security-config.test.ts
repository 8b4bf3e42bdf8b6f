import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';

const base = { JWT_SECRET: 'x'.repeat(32) };

describe('security configuration', () => {
  it('has safe defaults', () => {
    const { security } = loadConfig(base);
    expect(security).toMatchObject({
      allowedOrigins: [],
      corsOrigins: [],
      trustProxy: false,
      maxConnectionsPerIp: 200,
      maxConnectionsPerUser: 20,
      maxRoomsPerConnection: 128,
      messageRate: { capacity: 30, perSecond: 10 },
      loginFailures: 10,
      adminToken: null,
      jwks: null,
    });
  });

  it('refuses production without a secret, short admin tokens, bad origins, JWKS without issuer or with HS algorithms', () => {
    let problems: string[] = [];
    try {
      loadConfig({
        NODE_ENV: 'production',
        ADMIN_TOKEN: 'short',
        ALLOWED_ORIGINS: 'https://ok.example,not-an-origin,https://x.example/path',
        JWT_JWKS_URL: 'https://idp.example/jwks.json',
        JWT_JWKS_ALGORITHMS: 'RS256,HS256',
        MAX_ROOMS_PER_CONNECTION: '500',
      });
    } catch (err) {
      problems = (err as ConfigError).problems;
    }
    expect(problems.join('\n')).toMatch(/JWT_SECRET is required/);
    expect(problems.join('\n')).toMatch(/ADMIN_TOKEN/);
    expect(problems.filter((p) => p.includes('origin'))).toHaveLength(2);
    expect(problems.join('\n')).toMatch(/JWT_JWKS_ISSUER/);
    expect(problems.join('\n')).toMatch(/only EdDSA and RS256/);
    expect(problems.join('\n')).toMatch(/MAX_ROOMS_PER_CONNECTION/);
  });

  it('reads the lists and the identity provider', () => {
    const { security } = loadConfig({
      ...base,
      ALLOWED_ORIGINS: 'https://a.example, https://b.example:8443',
      CORS_ORIGINS: 'https://a.example',
      JWT_JWKS_URL: 'https://idp.example/jwks.json',
      JWT_JWKS_ISSUER: 'https://idp.example',
      JWT_JWKS_ALGORITHMS: 'EdDSA',
      TRUST_PROXY: 'true',
    });
    expect(security.allowedOrigins).toEqual(['https://a.example', 'https://b.example:8443']);
    expect(security.corsOrigins).toEqual(['https://a.example']);
    expect(security.jwks).toEqual({ url: 'https://idp.example/jwks.json', issuer: 'https://idp.example', algorithms: ['EdDSA'] });
    expect(security.trustProxy).toBe(true);
  });
});
