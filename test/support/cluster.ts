/** Several natter processes sharing one Redis prefix and one PostgreSQL database, optionally behind nginx. */
import { startNatterProcess, type NatterProcess } from './process.js';
import { startNginx, type Nginx } from './nginx.js';
import { TEST_JWT_SECRET } from './server.js';

export interface NatterCluster {
  instances: NatterProcess[];
  nginx: Nginx | undefined;
  /** Where clients go: nginx when there is one, else the first instance. */
  baseUrl: string;
  wsUrl: string;
  env: Record<string, string>;
  /** Starts one more instance with the same settings (plus `extra`). */
  addInstance(extra?: Record<string, string>): Promise<NatterProcess>;
  stop(): Promise<void>;
}

export interface ClusterOptions {
  instances: number;
  redisUrl: string;
  redisPrefix: string;
  databaseUrl: string;
  nginx?: boolean;
  env?: Record<string, string>;
}

export async function startCluster(options: ClusterOptions): Promise<NatterCluster> {
  const env = {
    REDIS_URL: options.redisUrl,
    REDIS_PREFIX: options.redisPrefix,
    DATABASE_URL: options.databaseUrl,
    JWT_SECRET: TEST_JWT_SECRET,
    ...options.env,
  };
  const instances: NatterProcess[] = [];
  // One first, so migrations run once before the others start.
  instances.push(await startNatterProcess(env));
  instances.push(...(await Promise.all(Array.from({ length: options.instances - 1 }, () => startNatterProcess(env)))));
  const nginx = options.nginx ? await startNginx(instances.map((i) => Number(new URL(i.baseUrl).port))) : undefined;
  return {
    instances,
    nginx,
    env,
    baseUrl: nginx?.baseUrl ?? instances[0]!.baseUrl,
    wsUrl: nginx?.wsUrl ?? instances[0]!.wsUrl,
    async addInstance(extra = {}) {
      const p = await startNatterProcess({ ...env, ...extra });
      instances.push(p);
      return p;
    },
    async stop() {
      await nginx?.stop();
      await Promise.all(
        instances.map(async (i) => {
          if (i.child.exitCode === null && i.child.signalCode === null) i.child.kill('SIGKILL');
          await i.exited;
        }),
      );
    },
  };
}
