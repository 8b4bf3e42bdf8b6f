/**
 * Runs natter until a signal: build it, listen, and on SIGTERM/SIGINT shut down gracefully — not ready, upgrades
 * refused, clients moved elsewhere in jittered batches, in-flight sends finished, adapters closed in reverse
 * order — exiting 0, or 1 when SHUTDOWN_TIMEOUT_MS passes first. A second SIGINT exits at once (130).
 */
import type { Config } from './config.js';
import { applyHeapGrowth } from './heap-growth.js';
import { createLogger } from './logger.js';
import { createNatter } from './natter.js';

export async function serve(config: Config): Promise<void> {
  applyHeapGrowth(config.heapGrowth);
  const logger = createLogger(config);
  const natter = await createNatter(config, { logger });
  const address = await natter.app.listen({ host: config.host, port: config.port });
  logger.info(
    {
      address,
      instance: natter.instanceId,
      metrics: natter.metricsAddress ?? `${address}/metrics`,
      database: config.databaseUrl.startsWith('sqlite:') ? 'sqlite' : 'postgres',
      broker: config.redisUrl === null ? 'in-process' : 'redis',
    },
    'natter listening',
  );

  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) {
      if (signal === 'SIGINT') {
        logger.warn({ signal }, 'second interrupt: exiting now');
        process.exit(130);
      }
      return;
    }
    stopping = true;
    const started = Date.now();
    logger.info({ signal, connections: natter.app.wsConnectionCount(), timeoutMs: config.shutdownTimeoutMs }, 'shutting down');
    const force = setTimeout(() => {
      logger.error({ timeoutMs: config.shutdownTimeoutMs }, 'shutdown took too long; exiting');
      process.exit(1);
    }, config.shutdownTimeoutMs);
    force.unref();
    natter.shutdown().then(
      () => {
        logger.info({ ms: Date.now() - started }, 'shutdown complete');
        process.exit(0);
      },
      (err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
