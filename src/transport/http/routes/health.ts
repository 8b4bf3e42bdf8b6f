import type { FastifyPluginAsync } from 'fastify';
import { Type } from 'typebox';
import type { Broker, Store } from '../../../core/ports.js';

const READY_TIMEOUT_MS = 2_000;

const within = <T>(p: Promise<T>, ms: number) =>
  Promise.race([p, new Promise<never>((_, reject) => setTimeout(() => reject(new Error('timeout')), ms).unref())]);

/**
 * Liveness (/healthz: the process serves HTTP) and readiness (/readyz: the database answers and a canary makes a
 * round trip through the broker, each within 2 s — a wedged subscriber makes the instance not ready; and the
 * instance is not draining for shutdown).
 */
export const healthRoutes: FastifyPluginAsync<{ store: Store; broker: Broker; version: string; lifecycle?: { draining: boolean } }> = async (
  app,
  { store, broker, version, lifecycle = { draining: false } },
) => {
  const check = (p: Promise<unknown>) =>
    within(p, READY_TIMEOUT_MS).then(
      () => true,
      () => false,
    );

  app.get(
    '/healthz',
    {
      schema: {
        tags: ['health'],
        summary: 'Liveness: the process is up',
        response: { 200: Type.Object({ status: Type.Literal('ok'), version: Type.String() }) },
      },
    },
    async () => ({ status: 'ok' as const, version }),
  );

  const Readiness = Type.Object({
    status: Type.Union([Type.Literal('ready'), Type.Literal('not ready'), Type.Literal('draining')]),
    database: Type.Boolean(),
    broker: Type.Boolean(),
  });
  app.get(
    '/readyz',
    {
      schema: {
        tags: ['health'],
        summary: 'Readiness: database and broker round trip within 2 s, and not shutting down',
        response: { 200: Readiness, 503: Readiness },
      },
    },
    async (_request, reply) => {
      if (lifecycle.draining) return reply.status(503).send({ status: 'draining' as const, database: true, broker: true });
      const [database, brokerOk] = await Promise.all([check(store.ping()), check(broker.probe(READY_TIMEOUT_MS))]);
      const ready = database && brokerOk;
      return reply.status(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not ready', database, broker: brokerOk });
    },
  );
};
