/**
 * The browser app (web/, built by `npm run build:web` into web/dist) at `/`. Only the files that exist at start are
 * routed (no wildcard), so the API, /docs, /healthz and /ws are untouched. Without a build, `/` answers 503.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyPluginAsync } from 'fastify';

/** web/dist next to src/ and dist/ (this file is src/transport/http/routes/web.ts or its build in dist/). */
export const DEFAULT_WEB_ROOT = fileURLToPath(new URL('../../../../web/dist/', import.meta.url));

/** Same-origin only: no inline script, nothing fetched from elsewhere, not framable. */
const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

export const webRoutes: FastifyPluginAsync<{ root?: string }> = async (app, { root = DEFAULT_WEB_ROOT }) => {
  if (!existsSync(`${root}/index.html`)) {
    app.log.warn({ root }, 'web app not built; GET / answers 503 (run `npm run build:web`)');
    app.get('/', { schema: { hide: true } }, async (_request, reply) =>
      reply
        .status(503)
        .type('text/plain; charset=utf-8')
        .send('The natter web app is not built. Run `npm run build:web` (or `npm install`), then restart natter.\n'),
    );
    return;
  }
  await app.register(fastifyStatic, {
    root,
    prefix: '/',
    wildcard: false,
    index: ['index.html'],
    schemaHide: true,
    cacheControl: false, // set per file below
    setHeaders(res, path) {
      res.setHeader('content-security-policy', CSP);
      res.setHeader('x-content-type-options', 'nosniff');
      res.setHeader('referrer-policy', 'no-referrer');
      // Hashed asset names never change content; index.html must be revalidated to pick up a new build.
      res.setHeader('cache-control', path.includes('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache');
    },
  });
};
