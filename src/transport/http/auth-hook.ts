import type { FastifyRequest } from 'fastify';
import { ChatError } from '../../core/errors.js';
import type { AccessTokens } from '../../core/ports.js';
import type { Principal } from '../../core/types.js';

/** A preHandler that requires `Authorization: Bearer <access token>` and sets request.principal. */
export function requireUser(tokens: AccessTokens) {
  return async (request: FastifyRequest): Promise<void> => {
    const header = request.headers.authorization;
    const match = header ? /^Bearer\s+(\S+)$/i.exec(header) : null;
    if (!match) throw new ChatError('UNAUTHENTICATED', 'send Authorization: Bearer <access token>');
    const { userId, username } = await tokens.verify(match[1]!);
    request.principal = { userId, username };
  };
}

export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw new ChatError('UNAUTHENTICATED', 'not authenticated');
  return request.principal;
}
