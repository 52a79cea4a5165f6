import { createServer, type Server } from 'node:http';
import type { Logger } from 'pino';
import { handleHealth } from '../health/endpoints.js';
import type { HealthMonitor } from '../health/monitor.js';
import type { Metrics } from './metrics.js';

/** The operators' listener: /metrics for Prometheus plus the health endpoints, kept off the public port. */
export async function startMetricsServer(addr: string, metrics: Metrics, health: HealthMonitor, log: Logger): Promise<{ port: number; close(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    if (handleHealth(req, res, health, { details: true })) return;
    if (req.url?.split('?')[0] !== '/metrics' || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found\n');
      return;
    }
    metrics.registry.metrics().then(
      (text) => res.writeHead(200, { 'Content-Type': metrics.registry.contentType }).end(text),
      (err: unknown) => {
        log.error({ err }, 'collecting metrics failed');
        res.writeHead(500, { 'Content-Type': 'text/plain' }).end('metrics collection failed\n');
      },
    );
  });
  const i = addr.lastIndexOf(':');
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(Number(addr.slice(i + 1)), addr.slice(0, i).replace(/^\[|\]$/g, '') || '0.0.0.0', () => resolve());
  });
  const bound = server.address();
  return {
    port: typeof bound === 'object' && bound ? bound.port : 0,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
