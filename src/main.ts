/** Entry point (`npm start`): read config (exit 78 when invalid), then serve until SIGTERM/SIGINT (src/serve.ts). */
import { ConfigError, loadConfig } from './config.js';
import { serve } from './serve.js';

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
  await serve(config);
}

main().catch((err: unknown) => {
  process.stderr.write(`natter: failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
