import { SignJWT, createRemoteJWKSet, decodeProtectedHeader, jwtVerify, errors as joseErrors, type JWTVerifyGetKey } from 'jose';
import { ChatError } from '../../core/errors.js';
import type { AccessTokens, Clock, IssuedAccessToken, VerifiedAccessToken } from '../../core/ports.js';
import { asUserId, type Principal } from '../../core/types.js';

/** Asymmetric algorithms accepted from an external identity provider (never HS*, never none). */
export const JWKS_ALGORITHMS = ['EdDSA', 'RS256'] as const;
export type JwksAlgorithm = (typeof JWKS_ALGORITHMS)[number];

export interface JwksOptions {
  /** https URL of the identity provider's JWKS (keys are cached and refetched on an unknown kid, ≤ 1 per 30 s). */
  url: string;
  issuer: string;
  algorithms: readonly JwksAlgorithm[];
}

export interface JwtOptions {
  /** HS256 secret, at least 32 bytes (natter's own tokens). */
  secret: Uint8Array;
  issuer: string;
  audience: string;
  ttlSeconds: number;
  clock: Clock;
  /** Optional external identity provider: its tokens are verified against its JWKS. */
  jwks?: JwksOptions;
  /** For tests: a key getter used instead of fetching `jwks.url`. */
  jwksGetter?: JWTVerifyGetKey;
}

const TYP = 'at+jwt';
const CLOCK_TOLERANCE_S = 30;
/** Header parameters that would let a token name its own key: refused outright (RFC 8725 §3.10). */
const KEY_HEADERS = ['jku', 'jwk', 'x5u', 'x5c'] as const;

/**
 * Access tokens: natter's own are HS256 with its secret; an external IdP's are EdDSA/RS256 checked against its
 * JWKS. Pinned per issuer: the algorithm list is fixed, the key is chosen by the algorithm family (a secret never
 * verifies an asymmetric token and a public key never an HS one), and iss, aud, typ (at+jwt), exp, iat and sub are
 * all required; 30 s clock tolerance. `sub` is the user id, `name` (or `preferred_username`) the username.
 */
export class JwtAccessTokens implements AccessTokens {
  private readonly remote: JWTVerifyGetKey | undefined;

  constructor(private readonly options: JwtOptions) {
    this.remote = options.jwksGetter ?? (options.jwks ? createRemoteJWKSet(new URL(options.jwks.url)) : undefined);
  }

  async issue(principal: Principal): Promise<IssuedAccessToken> {
    const nowMs = this.options.clock.now();
    const nowSec = Math.floor(nowMs / 1000);
    const exp = nowSec + this.options.ttlSeconds;
    const token = await new SignJWT({ name: principal.username })
      .setProtectedHeader({ alg: 'HS256', typ: TYP })
      .setSubject(principal.userId)
      .setIssuer(this.options.issuer)
      .setAudience(this.options.audience)
      // Millisecond precision (a NumericDate may be fractional, RFC 7519 §2): a revocation at time T refuses every
      // token issued before T and none issued after, even within the same second.
      .setIssuedAt(nowMs / 1000)
      .setExpirationTime(exp)
      .sign(this.options.secret);
    return { token, expiresAt: exp * 1000 };
  }

  async verify(token: string): Promise<VerifiedAccessToken> {
    try {
      const header = decodeProtectedHeader(token);
      if (KEY_HEADERS.some((h) => h in header)) throw new ChatError('TOKEN_INVALID', 'token invalid');
      const external = header.alg !== 'HS256' && this.options.jwks !== undefined && this.remote !== undefined;
      const common = {
        audience: this.options.audience,
        typ: TYP,
        requiredClaims: ['exp', 'sub', 'iat'],
        clockTolerance: CLOCK_TOLERANCE_S,
        currentDate: new Date(this.options.clock.now()),
      };
      const { payload } = external
        ? await jwtVerify(token, this.remote!, { ...common, algorithms: [...this.options.jwks!.algorithms], issuer: this.options.jwks!.issuer })
        : await jwtVerify(token, this.options.secret, { ...common, algorithms: ['HS256'], issuer: this.options.issuer });
      const name = typeof payload.name === 'string' ? payload.name : payload.preferred_username;
      if (typeof payload.sub !== 'string' || typeof name !== 'string' || typeof payload.exp !== 'number' || typeof payload.iat !== 'number') {
        throw new ChatError('TOKEN_INVALID', 'token lacks sub or name');
      }
      return {
        userId: asUserId(payload.sub),
        username: name,
        expiresAt: payload.exp * 1000,
        issuedAt: Math.round(payload.iat * 1000),
        ...(external ? { external: true } : {}),
      };
    } catch (e) {
      if (e instanceof ChatError) throw e;
      const reason = e instanceof joseErrors.JWTExpired ? 'token expired' : 'token invalid';
      throw new ChatError('TOKEN_INVALID', reason);
    }
  }
}
