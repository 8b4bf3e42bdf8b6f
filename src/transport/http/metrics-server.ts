/**
 * A separate listener for GET /metrics (METRICS_PORT on METRICS_HOST, 127.0.0.1 by default), so metrics can be kept
 * off the public port entirely. The same bearer-token rule applies when METRICS_TOKEN is set.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { metricsAuthorized, type MetricsSource } from './routes/metrics.js';

export interface MetricsServer {
  address: string;
  close(): Promise<void>;
}

export async function startMetricsServer(options: { host: string; port: number; token: string | null; source: MetricsSource }): Promise<MetricsServer> {
  const server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0];
    if (request.method !== 'GET' || path !== '/metrics') {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    if (!metricsAuthorized(request.headers.authorization, options.token)) {
      response.writeHead(401, { 'www-authenticate': 'Bearer realm="metrics"', 'content-type': 'text/plain' }).end('unauthorized\n');
      return;
    }
    options.source.scrape().then(
      ({ contentType, body }) => response.writeHead(200, { 'content-type': contentType }).end(body),
      () => response.writeHead(500, { 'content-type': 'text/plain' }).end('scrape failed\n'),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const { address, port } = server.address() as AddressInfo;
  return {
    address: `http://${address.includes(':') ? `[${address}]` : address}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
