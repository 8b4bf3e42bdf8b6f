/** The HTTP edge of the error catalogue: ChatError codes -> status codes, and the one error handler. */
import type { FastifyError, FastifyInstance } from 'fastify';
import { retryAfterMs } from '../../core/accounts.js';
import { isChatError } from '../../core/errors.js';
import type { Metrics } from '../../core/metrics.js';
import { ERROR_CODES, type ErrorBody, type ErrorCode } from '../../protocol/errors.js';

export const HTTP_STATUS: Record<ErrorCode, number> = {
  VALIDATION_FAILED: 400,
  MALFORMED_FRAME: 400,
  UNKNOWN_COMMAND: 400,
  UNAUTHENTICATED: 401,
  TOKEN_INVALID: 401,
  INVALID_CREDENTIALS: 401,
  USERNAME_TAKEN: 409,
  WEAK_PASSWORD: 400,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  ROOM_NOT_FOUND: 404,
  ROOM_NAME_TAKEN: 409,
  USER_NOT_FOUND: 404,
  NOT_JOINED: 409,
  ALREADY_AUTHENTICATED: 400,
  BANNED: 403,
  LIMIT_EXCEEDED: 409,
  RATE_LIMITED: 429,
  UNAVAILABLE: 503,
  INTERNAL: 500,
};

export const errorBody = (code: ErrorCode, message: string): { error: ErrorBody } => ({
  error: { code, message, temporary: ERROR_CODES[code].temporary },
});

export function installErrorHandling(app: FastifyInstance, metrics?: Metrics): void {
  if (metrics) {
    app.addHook('onSend', (_request, reply, payload, done) => {
      if (reply.statusCode >= 400) metrics.count('errors', { code: errorCodeOf(payload), transport: 'http' });
      done(null, payload);
    });
  }
  app.setNotFoundHandler((request, reply) => {
    void reply.status(404).send(errorBody('NOT_FOUND', `no route ${request.method} ${request.routeOptions.url ?? 'here'}`));
  });
  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (isChatError(error)) {
      const retryAfter = error.code === 'RATE_LIMITED' ? retryAfterMs(error) : undefined;
      if (retryAfter !== undefined) void reply.header('retry-after', String(Math.max(1, Math.ceil(retryAfter / 1000))));
      return reply.status(HTTP_STATUS[error.code]).send(errorBody(error.code, error.message));
    }
    if (error.validation) {
      return reply.status(400).send(errorBody('VALIDATION_FAILED', error.message));
    }
    if (typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500) {
      // Fastify's own client errors: bad JSON, body too large, wrong content type.
      return reply.status(error.statusCode).send(errorBody('VALIDATION_FAILED', error.message));
    }
    request.log.error({ err: error }, 'unhandled error');
    return reply.status(500).send(errorBody('INTERNAL', `internal error (request ${request.id})`));
  });
}

/** The catalogue code inside an error body (the only bodies natter answers with >= 400), else "OTHER". */
function errorCodeOf(payload: unknown): string {
  if (typeof payload !== 'string') return 'OTHER';
  const match = /^\{"error":\{"code":"([A-Z_]+)"/.exec(payload);
  return match?.[1] ?? 'OTHER';
}
