/**
 * GET /metrics in the Prometheus text format. With a token configured (METRICS_TOKEN) a scrape must present it as
 * `Authorization: Bearer …`; it is compared in constant time and never logged. Served on the main port unless a
 * separate metrics listener is configured (METRICS_PORT, see metrics-server.ts).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyPluginAsync } from 'fastify';

export interface MetricsSource {
  scrape(): Promise<{ contentType: string; body: string }>;
}

const digest = (text: string) => createHash('sha256').update(text).digest();

/** True when no token is required, or the header carries exactly `Bearer <token>`. */
export function metricsAuthorized(header: string | undefined, token: string | null): boolean {
  if (token === null) return true;
  const presented = header?.startsWith('Bearer ') ? header.slice('Bearer '.length).trim() : '';
  return timingSafeEqual(digest(presented), digest(token));
}

export const metricsRoutes: FastifyPluginAsync<{ source: MetricsSource; token: string | null }> = async (app, { source, token }) => {
  app.get('/metrics', { schema: { hide: true }, logLevel: 'warn' }, async (request, reply) => {
    if (!metricsAuthorized(request.headers.authorization, token)) {
      return reply
        .status(401)
        .header('www-authenticate', 'Bearer realm="metrics"')
        .send({ error: { code: 'UNAUTHENTICATED', message: 'metrics need the configured bearer token', temporary: false } });
    }
    const { contentType, body } = await source.scrape();
    return reply.type(contentType).send(body);
  });
};
