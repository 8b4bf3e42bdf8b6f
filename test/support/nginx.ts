/**
 * Debian's nginx in front of natter processes, configured with the very template deployment ships
 * (deploy/nginx/templates/natter.conf.template), rendered the way the nginx image's envsubst step does.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { freePort } from './redis.js';

export const NGINX_TEMPLATE = resolve('deploy/nginx/templates/natter.conf.template');

export function nginxAvailable(): boolean {
  const found = spawnSync('nginx', ['-v']).status === 0;
  if (!found && process.env.REQUIRE_SERVICES === '1') throw new Error('REQUIRE_SERVICES=1 but nginx is not installed (apt-get install nginx)');
  if (!found) console.warn('[natter tests] SKIPPING nginx suites: nginx not installed');
  return found;
}

/** Substitutes ${NAME} for the given variables only, like `envsubst "$defined_envs"`. */
export function renderTemplate(text: string, vars: Record<string, string>): string {
  return text.replace(/\$\{([A-Z0-9_]+)\}/g, (whole, name: string) => vars[name] ?? whole);
}

export interface Nginx {
  port: number;
  baseUrl: string;
  wsUrl: string;
  /** The last lines of nginx's error log (warn and above): why it refused or retried an upstream. */
  errorLog(lines?: number): string[];
  stop(): Promise<void>;
}

async function waitForPort(port: number, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`nginx exited with ${child.exitCode}`);
    const ok = await new Promise<boolean>((done) => {
      const s = connect(port, '127.0.0.1', () => {
        s.destroy();
        done(true);
      });
      s.on('error', () => done(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nginx did not listen on ${port}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function startNginx(upstreamPorts: number[]): Promise<Nginx> {
  const dir = mkdtempSync(join(tmpdir(), 'natter-nginx-'));
  mkdirSync(join(dir, 'logs'));
  const port = await freePort();
  const site = renderTemplate(readFileSync(NGINX_TEMPLATE, 'utf8'), {
    NATTER_LISTEN: `127.0.0.1:${port}`,
    NATTER_UPSTREAMS: upstreamPorts.map((p) => `server 127.0.0.1:${p} max_fails=0;`).join(' '),
  });
  writeFileSync(join(dir, 'natter.conf'), site);
  writeFileSync(
    join(dir, 'nginx.conf'),
    `worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/logs/error.log warn;
daemon off;
events { worker_connections 8192; }
http {
  access_log off;
  client_body_temp_path ${dir}/body; proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi; uwsgi_temp_path ${dir}/uwsgi; scgi_temp_path ${dir}/scgi;
  include ${dir}/natter.conf;
}
`,
  );
  const check = spawnSync('nginx', ['-t', '-c', join(dir, 'nginx.conf'), '-p', dir], { encoding: 'utf8' });
  if (check.status !== 0) throw new Error(`nginx -t failed:\n${check.stderr}`);
  const child = spawn('nginx', ['-c', join(dir, 'nginx.conf'), '-p', dir], { stdio: 'ignore' });
  await waitForPort(port, child, 10_000);
  return {
    port,
    baseUrl: `http://127.0.0.1:${port}`,
    wsUrl: `ws://127.0.0.1:${port}/ws`,
    errorLog(lines = 20) {
      return readFileSync(join(dir, 'logs', 'error.log'), 'utf8').trim().split('\n').slice(-lines);
    },
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGQUIT');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
