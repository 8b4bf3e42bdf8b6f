/** Use cases for accounts: register, log in, rotate refresh tokens, log out. */
import { ChatError } from './errors.js';
import type { CoreDeps } from './deps.js';
import { asUserId, type Principal, type User, type UserId } from './types.js';
import { checkPassword, checkUsername } from './validate.js';

export interface Session {
  user: User;
  accessToken: string;
  accessTokenExpiresAt: number;
  refreshToken: string;
  refreshTokenExpiresAt: number;
}

type AccountDeps = Pick<CoreDeps, 'store' | 'clock' | 'ids' | 'hasher' | 'accessTokens' | 'opaqueTokens' | 'limits' | 'log'>;

export class AccountService {
  /** Verified against for unknown usernames, so both failures cost one argon2 verification. */
  private dummyHash: Promise<string> | undefined;

  constructor(private readonly deps: AccountDeps) {}

  async register(username: string, password: string): Promise<Session> {
    checkUsername(username);
    checkPassword(password);
    const user: User = { id: asUserId(this.deps.ids.next()), username, createdAt: this.deps.clock.now() };
    const passwordHash = await this.deps.hasher.hash(password);
    await this.deps.store.createUser({ ...user, passwordHash });
    this.deps.log.info({ userId: user.id }, 'user registered');
    return this.openSession(user, this.deps.ids.next());
  }

  async login(username: string, password: string): Promise<Session> {
    const record = await this.deps.store.findUserByName(username);
    if (!record) {
      this.dummyHash ??= this.deps.hasher.hash('natter-timing-parity-dummy');
      await this.deps.hasher.verify(await this.dummyHash, password);
      throw new ChatError('INVALID_CREDENTIALS', 'invalid username or password');
    }
    if (!(await this.deps.hasher.verify(record.passwordHash, password))) {
      throw new ChatError('INVALID_CREDENTIALS', 'invalid username or password');
    }
    const { passwordHash: _omit, ...user } = record;
    return this.openSession(user, this.deps.ids.next());
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

  /** Revokes the refresh token's family. Unknown tokens are ignored, so logout is idempotent. */
  async logout(refreshToken: string): Promise<void> {
    const record = await this.deps.store.findRefreshToken(this.deps.opaqueTokens.hash(refreshToken));
    if (record) await this.deps.store.revokeRefreshFamily(record.familyId, this.deps.clock.now());
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
