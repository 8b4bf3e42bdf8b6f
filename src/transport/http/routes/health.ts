import type { FastifyPluginAsync } from 'fastify';
import { Type } from 'typebox';
import type { Store } from '../../../core/ports.js';

/** Liveness: the process serves HTTP. The database is reported, not required (readiness is /readyz). */
export const healthRoutes: FastifyPluginAsync<{ store: Store; version: string }> = async (app, { store, version }) => {
  app.get(
    '/healthz',
    {
      schema: {
        tags: ['health'],
        summary: 'Liveness',
        response: { 200: Type.Object({ status: Type.Literal('ok'), version: Type.String(), database: Type.Boolean() }) },
      },
    },
    async () => {
      const database = await store.ping().then(
        () => true,
        () => false,
      );
      return { status: 'ok' as const, version, database };
    },
  );
};
