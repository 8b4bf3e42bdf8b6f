import type { FastifyPluginAsync } from 'fastify';
import type { AccountService, Session } from '../../../core/accounts.js';
import { ChatError } from '../../../core/errors.js';
import type { AccessTokens, RateLimiter } from '../../../core/ports.js';
import type { SecurityConfig } from '../../../config.js';
import { toWireUser } from '../../../core/wire.js';
import { principalOf, requireUser } from '../auth-hook.js';
import { ChangePasswordBody, Credentials, RefreshBody, TokenPair, UserView, errors } from '../schemas.js';
import type { Static } from 'typebox';

interface Options {
  accounts: AccountService;
  accessTokens: AccessTokens;
  security?: { config: SecurityConfig; rateLimiter: RateLimiter };
}

const tokenPair = (s: Session, now = Date.now()) => ({
  token_type: 'Bearer' as const,
  access_token: s.accessToken,
  expires_in: Math.max(0, Math.ceil((s.accessTokenExpiresAt - now) / 1000)),
  refresh_token: s.refreshToken,
  refresh_expires_in: Math.max(0, Math.ceil((s.refreshTokenExpiresAt - now) / 1000)),
  user: toWireUser(s.user),
});

export const authRoutes: FastifyPluginAsync<Options> = async (app, { accounts, accessTokens, security }) => {
  if (security) {
    // Every /api/auth/* request spends a token of the client address's bucket (on top of login failure throttling).
    app.addHook('onRequest', async (request) => {
      if (!request.url.startsWith('/api/auth/')) return;
      const decision = await security.rateLimiter.take(`http-auth:${request.ip}`, security.config.authRate);
      if (!decision.allowed) {
        throw new ChatError('RATE_LIMITED', `too many requests; retry in ${Math.ceil(decision.retryAfterMs / 1000)} s`, {
          cause: { retryAfterMs: decision.retryAfterMs },
        });
      }
    });
  }

  app.post<{ Body: Static<typeof Credentials> }>(
    '/auth/register',
    {
      schema: {
        tags: ['auth'],
        summary: 'Create an account (and log in)',
        body: Credentials,
        response: { 201: TokenPair, ...errors(400, 409) },
      },
    },
    async (request, reply) => {
      const session = await accounts.register(request.body.username, request.body.password);
      return reply.status(201).send(tokenPair(session));
    },
  );

  app.post<{ Body: Static<typeof Credentials> }>(
    '/auth/login',
    { schema: { tags: ['auth'], summary: 'Log in', body: Credentials, response: { 200: TokenPair, ...errors(400, 401) } } },
    async (request) => tokenPair(await accounts.login(request.body.username, request.body.password, { ip: request.ip })),
  );

  app.post<{ Body: Static<typeof RefreshBody> }>(
    '/auth/refresh',
    {
      schema: {
        tags: ['auth'],
        summary: 'Rotate a refresh token for a new pair (a reused one revokes the whole session)',
        body: RefreshBody,
        response: { 200: TokenPair, ...errors(400, 401) },
      },
    },
    async (request) => tokenPair(await accounts.refresh(request.body.refresh_token)),
  );

  app.post<{ Body: Static<typeof RefreshBody> }>(
    '/auth/logout',
    { schema: { tags: ['auth'], summary: 'Revoke the refresh token and its session', body: RefreshBody, response: { 204: { type: 'null' }, ...errors(400) } } },
    async (request, reply) => {
      await accounts.logout(request.body.refresh_token);
      return reply.status(204).send();
    },
  );

  app.post<{ Body: Static<typeof ChangePasswordBody> }>(
    '/auth/password',
    {
      preHandler: requireUser(accessTokens),
      schema: {
        tags: ['auth'],
        summary: 'Change the password: every token of the account is revoked and its sockets close; answers a fresh pair',
        security: [{ bearer: [] }],
        body: ChangePasswordBody,
        response: { 200: TokenPair, ...errors(400, 401, 429) },
      },
    },
    async (request) => tokenPair(await accounts.changePassword(principalOf(request), request.body.current_password, request.body.new_password)),
  );

  app.get(
    '/me',
    {
      preHandler: requireUser(accessTokens),
      schema: { tags: ['auth'], summary: 'The current user', security: [{ bearer: [] }], response: { 200: UserView, ...errors(401) } },
    },
    async (request) => toWireUser(await accounts.me(principalOf(request).userId)),
  );
};
