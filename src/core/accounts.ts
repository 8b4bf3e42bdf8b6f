/**
 * Use cases for accounts: register, log in (throttled), rotate refresh tokens, log out, change the password,
 * revoke a user (admin), and authenticate an access token (signature, expiry, and revocation).
 */
import { ChatError } from './errors.js';
import type { CoreDeps } from './deps.js';
import type { VerifiedAccessToken } from './ports.js';
import { LoginThrottle } from './login-throttle.js';
import { asUserId, type Principal, type User, type UserId } from './types.js';
import { checkPassword, checkUsername } from './validate.js';

export interface Session {
  user: User;
  accessToken: string;
  accessTokenExpiresAt: number;
  refreshToken: string;
  refreshTokenExpiresAt: number;
}

type AccountDeps = Pick<
  CoreDeps,
  'store' | 'broker' | 'clock' | 'ids' | 'hasher' | 'accessTokens' | 'opaqueTokens' | 'rateLimiter' | 'limits' | 'log'
>;

/** Where a login attempt comes from (the client address as the transport sees it). */
export interface LoginContext {
  ip: string;
}

/** The retry delay of a RATE_LIMITED error (for Retry-After), when known. */
export const retryAfterMs = (err: ChatError): number | undefined => {
  const cause = err.cause as { retryAfterMs?: unknown } | undefined;
  return typeof cause?.retryAfterMs === 'number' ? cause.retryAfterMs : undefined;
};

export class AccountService {
  /** Verified against for unknown usernames, so both failures cost one argon2 verification. */
  private dummyHash: Promise<string> | undefined;

  private readonly throttle: LoginThrottle;

  constructor(private readonly deps: AccountDeps) {
    this.throttle = new LoginThrottle(deps.rateLimiter, deps.limits.loginFailureRate);
  }

  async register(username: string, password: string): Promise<Session> {
    checkUsername(username);
    checkPassword(password);
    const user: User = { id: asUserId(this.deps.ids.next()), username, createdAt: this.deps.clock.now() };
    const passwordHash = await this.deps.hasher.hash(password);
    await this.deps.store.createUser({ ...user, passwordHash });
    this.deps.log.info({ userId: user.id }, 'user registered');
    return this.openSession(user, this.deps.ids.next());
  }

  /**
   * Same answer, status and cost for an unknown user and a wrong password (a dummy hash is verified). Failures are
   * counted per account and per client address (LoginThrottle): past 10 in 15 minutes each further failure doubles
   * the wait, refused with RATE_LIMITED before any hashing, never longer than the window (no permanent lock-out).
   */
  async login(username: string, password: string, context: LoginContext = { ip: 'unknown' }): Promise<Session> {
    const keys = [`login:user:${username.toLowerCase()}`, `login:ip:${context.ip}`];
    for (const key of keys) await this.throttle.check(key);
    const record = await this.deps.store.findUserByName(username);
    let ok = false;
    if (record) ok = await this.deps.hasher.verify(record.passwordHash, password);
    else await this.deps.hasher.verify(await (this.dummyHash ??= this.deps.hasher.hash('natter-timing-parity-dummy')), password);
    if (!record || !ok) {
      await Promise.all(keys.map((key) => this.throttle.fail(key)));
      throw new ChatError('INVALID_CREDENTIALS', 'invalid username or password');
    }
    const { passwordHash: _omit, ...user } = record;
    return this.openSession(user, this.deps.ids.next());
  }

  /**
   * Verifies an access token and that it was not revoked (issued before the user's last logout, password change
   * or admin revoke). A token of an external identity provider provisions its user on first sight.
   */
  async authenticate(token: string): Promise<VerifiedAccessToken> {
    const verified = await this.deps.accessTokens.verify(token);
    let validAfter = await this.deps.store.tokensValidAfter(verified.userId);
    if (validAfter === undefined && verified.external) {
      await this.deps.store
        .createUser({ id: verified.userId, username: verified.username, createdAt: this.deps.clock.now(), passwordHash: '!external' })
        .catch((err: unknown) => {
          throw new ChatError('TOKEN_INVALID', 'token invalid', { cause: err });
        });
      validAfter = 0;
    }
    if (validAfter === undefined) throw new ChatError('TOKEN_INVALID', 'token invalid');
    if (verified.issuedAt < validAfter) throw new ChatError('TOKEN_INVALID', 'token revoked');
    return verified;
  }

  /**
   * Changes the password (the current one is required), revokes every token of the user and closes every socket
   * of the user on every instance; answers a fresh session for the caller.
   */
  async changePassword(principal: Principal, currentPassword: string, newPassword: string): Promise<Session> {
    checkPassword(newPassword);
    const record = await this.deps.store.findUserByName(principal.username);
    if (!record || record.id !== principal.userId || !(await this.deps.hasher.verify(record.passwordHash, currentPassword))) {
      throw new ChatError('INVALID_CREDENTIALS', 'current password is wrong');
    }
    await this.deps.store.setPasswordHash(record.id, await this.deps.hasher.hash(newPassword));
    await this.revokeSessions(record.id, 'password');
    const { passwordHash: _omit, ...user } = record;
    return this.openSession(user, this.deps.ids.next());
  }

  /**
   * Admin revoke (the CLI's `natter user revoke` and `POST /api/admin/users/:user/revoke`): every refresh token and
   * every access token issued so far is refused, and every socket of the user closes on every instance.
   */
  async revokeUser(userId: UserId): Promise<void> {
    if ((await this.deps.store.tokensValidAfter(userId)) === undefined) throw new ChatError('USER_NOT_FOUND', 'no such user');
    await this.revokeSessions(userId, 'admin');
    this.deps.log.info({ userId }, 'user revoked by an administrator');
  }

  /** Same as revokeUser, by username (for the CLI). */
  async revokeUsername(username: string): Promise<UserId> {
    const user = await this.deps.store.findUserByName(username);
    if (!user) throw new ChatError('USER_NOT_FOUND', 'no such user');
    await this.revokeUser(user.id);
    return user.id;
  }

  /** Tokens issued before now are refused (access tokens carry a millisecond iat); sockets everywhere close. */
  private async revokeSessions(userId: UserId, reason: 'logout' | 'password' | 'admin'): Promise<void> {
    const now = this.deps.clock.now();
    await this.deps.store.revokeUserTokens(userId, now, { refreshTokens: true });
    await this.deps.broker.publishControl({ kind: 'user.revoked', user: userId, reason }).catch((err: unknown) => {
      this.deps.log.warn({ err, userId }, 'revocation broadcast failed; sockets close at their next token check');
    });
  }

  /** Rotates: the presented token is spent; presenting a spent token again revokes its whole family. */
  async refresh(refreshToken: string): Promise<Session> {
    const { store, clock, opaqueTokens, log } = this.deps;
    const record = await store.findRefreshToken(opaqueTokens.hash(refreshToken));
    const now = clock.now();
    if (!record || record.revokedAt !== null || record.expiresAt <= now) {
      throw new ChatError('TOKEN_INVALID', 'refresh token invalid or expired');
    }
    if (!(await store.markRefreshTokenUsed(record.id, now))) {
      await store.revokeRefreshFamily(record.familyId, now);
      log.warn({ userId: record.userId, family: record.familyId }, 'refresh token reuse: family revoked');
      throw new ChatError('TOKEN_INVALID', 'refresh token already used; session revoked');
    }
    const user = await store.findUserById(record.userId);
    if (!user) throw new ChatError('TOKEN_INVALID', 'refresh token invalid or expired');
    return this.openSession(user, record.familyId);
  }

  /**
   * Revokes the refresh token's family, refuses every access token of the user issued so far, and closes every
   * socket of the user on every instance (other devices get a fresh access token with their own refresh token and
   * reconnect). Unknown tokens are ignored, so logout is idempotent.
   */
  async logout(refreshToken: string): Promise<void> {
    const record = await this.deps.store.findRefreshToken(this.deps.opaqueTokens.hash(refreshToken));
    if (!record) return;
    const now = this.deps.clock.now();
    await this.deps.store.revokeRefreshFamily(record.familyId, now);
    await this.deps.store.revokeUserTokens(record.userId, now, { refreshTokens: false });
    // Other families of the user stay valid: only their access tokens must be refreshed.
    await this.deps.broker.publishControl({ kind: 'user.revoked', user: record.userId, reason: 'logout' }).catch((err: unknown) => {
      this.deps.log.warn({ err, userId: record.userId }, 'revocation broadcast failed');
    });
  }

  async me(userId: UserId): Promise<User> {
    const user = await this.deps.store.findUserById(userId);
    if (!user) throw new ChatError('UNAUTHENTICATED', 'account no longer exists');
    return user;
  }

  private async openSession(user: User, familyId: string): Promise<Session> {
    const principal: Principal = { userId: user.id, username: user.username };
    const access = await this.deps.accessTokens.issue(principal);
    const { token, hash } = this.deps.opaqueTokens.create();
    const now = this.deps.clock.now();
    const expiresAt = now + this.deps.limits.refreshTokenTtlSeconds * 1000;
    await this.deps.store.insertRefreshToken({
      id: this.deps.ids.next(),
      userId: user.id,
      familyId,
      tokenHash: hash,
      createdAt: now,
      expiresAt,
      usedAt: null,
      revokedAt: null,
    });
    return {
      user,
      accessToken: access.token,
      accessTokenExpiresAt: access.expiresAt,
      refreshToken: token,
      refreshTokenExpiresAt: expiresAt,
    };
  }
}
