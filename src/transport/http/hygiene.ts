/**
 * HTTP hygiene: security headers (@fastify/helmet) and CORS, closed unless CORS_ORIGINS lists origins.
 * Body limits (64 KiB) are set on the Fastify instance; error bodies never carry stack traces (errors.ts).
 */
import cors from '@fastify/cors';
import helmet from '@fastify/helmet';
import type { FastifyInstance } from 'fastify';
import type { SecurityConfig } from '../../config.js';

export async function installHygiene(app: FastifyInstance, security: SecurityConfig): Promise<void> {
  await app.register(helmet, {
    contentSecurityPolicy: {
      useDefaults: true,
      directives: {
        'default-src': ["'self'"],
        'script-src': ["'self'"],
        'style-src': ["'self'", "'unsafe-inline'"],
        'img-src': ["'self'", 'data:'],
        // 'self' covers ws(s) to the same host in CSP 3; listed origins may host the web app elsewhere.
        'connect-src': ["'self'", ...security.allowedOrigins.filter((o) => o !== '*').map((o) => o.replace(/^http/, 'ws'))],
        'frame-ancestors': ["'none'"],
        // natter may serve plain HTTP (development, TLS at a proxy): never rewrite subresources to https.
        'upgrade-insecure-requests': null,
      },
    },
    crossOriginResourcePolicy: { policy: 'same-origin' },
  });
  if (security.corsOrigins.length > 0) {
    await app.register(cors, {
      origin: security.corsOrigins.includes('*') ? true : security.corsOrigins,
      methods: ['GET', 'POST', 'DELETE'],
      allowedHeaders: ['authorization', 'content-type'],
      maxAge: 600,
    });
  }
}
