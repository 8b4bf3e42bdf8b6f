/** Entry point: read config, build natter, listen, shut down gracefully on SIGTERM/SIGINT. */
import { ConfigError, loadConfig } from './config.js';
import { createLogger, createNatter } from './natter.js';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`natter: ${err.message}\n`);
      process.exit(78); // EX_CONFIG
    }
    throw err;
  }
  const logger = createLogger(config);
  const natter = await createNatter(config, { logger });
  const address = await natter.app.listen({ host: config.host, port: config.port });
  logger.info({ address, database: config.databaseUrl.startsWith('sqlite:') ? 'sqlite' : 'postgres' }, 'natter listening');

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    const force = setTimeout(() => {
      logger.error({}, 'shutdown took too long; exiting');
      process.exit(1);
    }, 25_000);
    force.unref();
    natter.close().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((err: unknown) => {
  process.stderr.write(`natter: failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
