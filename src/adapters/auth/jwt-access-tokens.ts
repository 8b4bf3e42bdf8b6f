import { SignJWT, jwtVerify, errors as joseErrors } from 'jose';
import { ChatError } from '../../core/errors.js';
import type { AccessTokens, Clock, IssuedAccessToken } from '../../core/ports.js';
import { asUserId, type Principal } from '../../core/types.js';

export interface JwtOptions {
  /** HS256 secret, at least 32 bytes. */
  secret: Uint8Array;
  issuer: string;
  audience: string;
  ttlSeconds: number;
  clock: Clock;
}

const TYP = 'at+jwt';

/**
 * HS256 access tokens with a pinned algorithm list, required iss/aud/typ/exp/sub, 30 s clock tolerance.
 * `sub` is the user id, `name` the username.
 */
export class JwtAccessTokens implements AccessTokens {
  constructor(private readonly options: JwtOptions) {}

  async issue(principal: Principal): Promise<IssuedAccessToken> {
    const nowSec = Math.floor(this.options.clock.now() / 1000);
    const exp = nowSec + this.options.ttlSeconds;
    const token = await new SignJWT({ name: principal.username })
      .setProtectedHeader({ alg: 'HS256', typ: TYP })
      .setSubject(principal.userId)
      .setIssuer(this.options.issuer)
      .setAudience(this.options.audience)
      .setIssuedAt(nowSec)
      .setExpirationTime(exp)
      .sign(this.options.secret);
    return { token, expiresAt: exp * 1000 };
  }

  async verify(token: string): Promise<Principal & { expiresAt: number }> {
    try {
      const { payload } = await jwtVerify(token, this.options.secret, {
        algorithms: ['HS256'],
        issuer: this.options.issuer,
        audience: this.options.audience,
        typ: TYP,
        requiredClaims: ['exp', 'sub', 'iat'],
        clockTolerance: 30,
        currentDate: new Date(this.options.clock.now()),
      });
      if (typeof payload.sub !== 'string' || typeof payload.name !== 'string' || typeof payload.exp !== 'number') {
        throw new ChatError('TOKEN_INVALID', 'token lacks sub or name');
      }
      return { userId: asUserId(payload.sub), username: payload.name, expiresAt: payload.exp * 1000 };
    } catch (e) {
      if (e instanceof ChatError) throw e;
      const reason = e instanceof joseErrors.JWTExpired ? 'token expired' : 'token invalid';
      throw new ChatError('TOKEN_INVALID', reason);
    }
  }
}
