/**
 * The deployment files, checked without a Docker engine: docker-compose.yml parsed (services, health-gated order,
 * secrets only from the env file, the nginx template mechanism), the Dockerfile's stages, user and health check,
 * .dockerignore, and the shipped nginx template rendered with compose's values and passed through `nginx -t`.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { NGINX_TEMPLATE, renderTemplate } from '../support/nginx.js';

interface Service {
  image?: string;
  build?: unknown;
  command?: string[];
  env_file?: string | string[];
  environment?: Record<string, string>;
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test?: string[]; disable?: boolean };
  volumes?: string[];
  ports?: string[];
  stop_grace_period?: string;
}

const compose = parse(readFileSync('docker-compose.yml', 'utf8'), { merge: true }) as { services: Record<string, Service>; volumes: Record<string, unknown> };
const services = compose.services;
const natters = ['natter1', 'natter2', 'natter3'];
const configVars = new Set([...readFileSync('src/config.ts', 'utf8').matchAll(/(?:env\.|\(')([A-Z][A-Z0-9_]+)/g)].map((m) => m[1]!));

describe('docker-compose.yml', () => {
  it('has nginx, three natter instances, a one-shot migrate, Redis and PostgreSQL', () => {
    expect(Object.keys(services).sort()).toEqual(['migrate', 'natter1', 'natter2', 'natter3', 'nginx', 'postgres', 'redis']);
    expect(services.migrate!.command).toEqual(['migrate']);
    expect(services.postgres!.volumes).toContain('pgdata:/var/lib/postgresql/data');
    expect(compose.volumes).toHaveProperty('pgdata');
  });

  it('starts in health-gated order: databases healthy, migrations done, instances ready, then nginx', () => {
    expect(services.migrate!.depends_on).toEqual({ postgres: { condition: 'service_healthy' } });
    for (const name of ['postgres', 'redis']) expect(services[name]!.healthcheck?.test?.length).toBeGreaterThan(0);
    for (const name of natters) {
      const s = services[name]!;
      expect(s.depends_on).toEqual({
        migrate: { condition: 'service_completed_successfully' },
        postgres: { condition: 'service_healthy' },
        redis: { condition: 'service_healthy' },
      });
      expect(s.healthcheck?.test?.join(' ')).toContain('/readyz');
    }
    expect(services.nginx!.depends_on).toEqual(Object.fromEntries(natters.map((n) => [n, { condition: 'service_healthy' }])));
  });

  it('gives instances the shared database and Redis, secrets only from the env file, and time to drain', () => {
    for (const name of natters) {
      const s = services[name]!;
      expect(s.env_file).toBe('.env');
      const env = s.environment!;
      expect(env.DATABASE_URL).toMatch(/^postgres:\/\/natter:\$\{POSTGRES_PASSWORD:\?[^}]+\}@postgres:5432\/natter$/);
      expect(env.REDIS_URL).toBe('redis://redis:6379');
      expect(env.INSTANCE_ID).toBe(name);
      for (const key of Object.keys(env)) expect(configVars.has(key), `${key} is a natter variable`).toBe(true);
      for (const secret of ['JWT_SECRET', 'METRICS_TOKEN', 'ADMIN_TOKEN']) expect(env).not.toHaveProperty(secret);
      const grace = Number(/^(\d+)s$/.exec(s.stop_grace_period ?? '')?.[1]);
      expect(grace * 1000).toBeGreaterThan(Number(env.SHUTDOWN_TIMEOUT_MS));
    }
    const example = readFileSync('.env.example', 'utf8');
    for (const key of ['JWT_SECRET', 'POSTGRES_PASSWORD', 'METRICS_TOKEN']) expect(example).toMatch(new RegExp(`^${key}=$`, 'm'));
    expect(readFileSync('.gitignore', 'utf8')).toMatch(/^\.env$/m);
  });

  it('configures nginx through the image templates mechanism with the shipped template', () => {
    const nginx = services.nginx!;
    expect(nginx.volumes).toContain('./deploy/nginx/templates:/etc/nginx/templates:ro');
    expect(existsSync('deploy/nginx/templates/natter.conf.template')).toBe(true);
    const env = nginx.environment!;
    expect(env.NGINX_ENVSUBST_FILTER).toBe('^NATTER_');
    for (const name of natters) expect(env.NATTER_UPSTREAMS).toContain(`server ${name}:8080`);
    expect(nginx.ports).toEqual([`\${HTTP_PORT:-8080}:${env.NATTER_LISTEN}`]);
  });

  it.skipIf(spawnSync('nginx', ['-v']).status !== 0)('renders to a configuration nginx -t accepts', () => {
    const env = services.nginx!.environment!;
    const dir = mkdtempSync(join(tmpdir(), 'natter-compose-nginx-'));
    try {
      // Compose's values, with the service names resolvable here.
      const site = renderTemplate(readFileSync(NGINX_TEMPLATE, 'utf8'), {
        NATTER_LISTEN: `127.0.0.1:${env.NATTER_LISTEN}`,
        NATTER_UPSTREAMS: env.NATTER_UPSTREAMS!.replace(/natter\d/g, '127.0.0.1'),
      });
      expect(site.split('\n').filter((l) => !l.trim().startsWith('#')).join('\n')).not.toMatch(/\$\{NATTER_/);
      writeFileSync(join(dir, 'natter.conf'), site);
      writeFileSync(join(dir, 'nginx.conf'), `pid ${dir}/nginx.pid; error_log ${dir}/error.log; events {} http { include ${dir}/natter.conf; }\n`);
      const check = spawnSync('nginx', ['-t', '-c', join(dir, 'nginx.conf'), '-p', dir], { encoding: 'utf8' });
      expect(check.status, check.stderr).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('Dockerfile', () => {
  const text = readFileSync('Dockerfile', 'utf8');
  const stages = [...text.matchAll(/^FROM\s+(\S+)\s+AS\s+(\S+)/gim)].map((m) => ({ image: m[1]!, name: m[2]! }));
  const runtime = text.slice(text.lastIndexOf('\nFROM '));

  it('is multi-stage: a build stage, and a runtime stage with production dependencies only', () => {
    expect(stages.map((s) => s.name)).toEqual(['build', 'runtime']);
    for (const s of stages) expect(s.image).toMatch(/^node:\$\{NODE_VERSION\}-bookworm-slim$/);
    expect(text).toMatch(/^ARG NODE_VERSION=(20|22|24)$/m);
    expect(text).toMatch(/npm prune --omit=dev/);
    expect(runtime).not.toMatch(/npm (ci|install)/);
    for (const from of ['node_modules', 'dist', 'web/dist']) expect(runtime).toContain(`COPY --from=build /app/${from} `);
    for (const copied of [...text.matchAll(/^COPY (?!--from)(\S+)/gm)].map((m) => m[1]!)) expect(existsSync(copied), copied).toBe(true);
  });

  it('runs as a non-root user, checks its health, drains on SIGTERM, and starts through the CLI', () => {
    expect(runtime).toMatch(/^USER node$/m);
    expect(runtime).toMatch(/^HEALTHCHECK .*\n?.*\/healthz/m);
    expect(runtime).toMatch(/^STOPSIGNAL SIGTERM$/m);
    expect(runtime).toMatch(/^ENTRYPOINT \["node", "dist\/cli\/main\.js"\]$/m);
    expect(runtime).toMatch(/^CMD \["serve"\]$/m);
    expect(runtime).toMatch(/NODE_ENV=production/);
    expect(JSON.parse(readFileSync('package.json', 'utf8')).bin).toEqual({ natter: 'dist/cli/main.js' });
  });

  it('keeps secrets, local data and builds out of the build context', () => {
    const ignored = readFileSync('.dockerignore', 'utf8').split('\n').map((l) => l.trim());
    for (const entry of ['.env', '.git', 'node_modules', 'dist', 'data', 'web/dist']) expect(ignored).toContain(entry);
  });
});
