/**
 * The admin API, on only when ADMIN_TOKEN is set: `Authorization: Bearer <ADMIN_TOKEN>` (compared in constant
 * time). `POST /api/admin/users/:username/revoke` revokes every token of the user and closes their sockets on every
 * instance within a second (the same core call as the CLI's `natter user revoke`: AccountService.revokeUser).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { Type, type Static } from 'typebox';
import type { AccountService } from '../../../core/accounts.js';
import { ChatError } from '../../../core/errors.js';
import { errors } from '../schemas.js';

const digest = (s: string) => createHash('sha256').update(s).digest();

export const adminRoutes: FastifyPluginAsync<{ accounts: AccountService; adminToken: string }> = async (app, { accounts, adminToken }) => {
  const expected = digest(adminToken);
  app.addHook('preHandler', async (request: FastifyRequest) => {
    const match = /^Bearer\s+(\S+)$/i.exec(request.headers.authorization ?? '');
    if (!match || !timingSafeEqual(digest(match[1]!), expected)) throw new ChatError('UNAUTHENTICATED', 'admin token required');
  });
  const Params = Type.Object({ username: Type.String({ minLength: 1, maxLength: 64 }) });
  app.post<{ Params: Static<typeof Params> }>(
    '/admin/users/:username/revoke',
    {
      schema: {
        tags: ['admin'],
        summary: "Revoke every token of a user and close the user's sockets on every instance (admin token)",
        params: Params,
        response: { 200: Type.Object({ user_id: Type.String(), revoked: Type.Literal(true) }), ...errors(401, 404) },
      },
    },
    async (request) => ({ user_id: await accounts.revokeUsername(request.params.username), revoked: true as const }),
  );
};
