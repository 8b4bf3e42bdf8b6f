/** buildApp(deps): the HTTP API, docs and the WebSocket endpoint on one Fastify instance. Never listens. */
import { randomBytes } from 'node:crypto';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { AccountService } from '../../core/accounts.js';
import type { ChatService } from '../../core/chat.js';
import type { Metrics } from '../../core/metrics.js';
import type { AccessTokens, Broker, RateLimiter, Store } from '../../core/ports.js';
import type { SecurityConfig } from '../../config.js';
import { installHygiene } from './hygiene.js';
import type { RoomService } from '../../core/rooms.js';
import type { Principal } from '../../core/types.js';
import { installErrorHandling } from './errors.js';
import { adminRoutes } from './routes/admin.js';
import { authRoutes } from './routes/auth.js';
import { roomRoutes } from './routes/rooms.js';
import { healthRoutes } from './routes/health.js';
import { metricsRoutes, type MetricsSource } from './routes/metrics.js';
import { webRoutes } from './routes/web.js';
import { attachWebSocket, type WsOptions } from '../ws/gateway.js';

export interface AppDeps {
  accounts: AccountService;
  rooms: RoomService;
  chat: ChatService;
  accessTokens: AccessTokens;
  store: Store;
  broker: Broker;
  logger: FastifyBaseLogger;
  ws: WsOptions;
  version: string;
  metrics?: Metrics;
  /** GET /metrics on this port (omit when metrics have their own listener, or are off). */
  metricsEndpoint?: { source: MetricsSource; token: string | null };
  /** Shutdown state shared by /readyz and the WebSocket gateway. */
  lifecycle?: { draining: boolean };
  /** Origin allowlist, connection caps, rate limits, admin token (docs/security.md); absent: permissive test defaults. */
  security?: { config: SecurityConfig; rateLimiter: RateLimiter };
}

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
  }
}

export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: deps.logger,
    bodyLimit: 64 * 1024,
    requestIdHeader: false,
    // Unique across instances (the default counter restarts at req-1 in every process).
    genReqId: () => randomBytes(6).toString('base64url'),
    routerOptions: { ignoreTrailingSlash: true },
    // Behind one reverse proxy (TRUST_PROXY=true), request.ip is the address the proxy saw (last X-Forwarded-For hop).
    trustProxy: deps.security?.config.trustProxy ? (_address: string, hop: number) => hop < 1 : false,
  });
  app.decorateRequest('principal', null);
  installErrorHandling(app, deps.metrics);
  if (deps.security) await installHygiene(app, deps.security.config);
  const lifecycle = deps.lifecycle ?? { draining: false };

  await app.register(swagger, {
    openapi: {
      info: { title: 'natter', description: 'Self-hosted real-time chat server. WebSocket protocol: docs/protocol.md', version: deps.version },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } } },
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });

  await app.register(healthRoutes, { store: deps.store, broker: deps.broker, version: deps.version, lifecycle });
  if (deps.metricsEndpoint) await app.register(metricsRoutes, deps.metricsEndpoint);
  await app.register(authRoutes, { prefix: '/api', accounts: deps.accounts, accessTokens: deps.accessTokens, security: deps.security });
  if (deps.security?.config.adminToken) {
    await app.register(adminRoutes, { prefix: '/api', accounts: deps.accounts, adminToken: deps.security.config.adminToken });
  }
  await app.register(roomRoutes, { prefix: '/api', rooms: deps.rooms, accessTokens: deps.accessTokens });
  await app.register(webRoutes);
  attachWebSocket(app, { chat: deps.chat, accessTokens: deps.accessTokens, options: deps.ws, metrics: deps.metrics, lifecycle, security: deps.security });
  return app;
}
