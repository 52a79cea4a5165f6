import type { Logger } from 'pino';
import { createApiServer } from '../api/server.js';
import { createAccessController, type AuthDeps } from '../auth/controller.js';
import type { Config } from '../config/schema.js';
import { WebhookDispatcher } from '../events/dispatcher.js';
import { HealthMonitor, metadataCheck, storageCheck } from '../health/monitor.js';
import { startMetricsServer } from '../metrics/server.js';
import { openRegistry } from '../registry/registry.js';
import { createCertificateSource, startPlainHttpListener } from '../tls/index.js';
import { BackgroundJobs } from './background-jobs.js';
import { gcScheduleJob, pullRecorderJob, scrubJob, uploadPurgeJob, webhookJob } from './jobs.js';

export function splitAddr(addr: string): { host: string; port: number } {
  const i = addr.lastIndexOf(':');
  const host = addr.slice(0, i).replace(/^\[|\]$/g, '') || '0.0.0.0';
  return { host, port: Number(addr.slice(i + 1)) };
}

export interface RunningServer {
  readonly port: number;
  readonly host: string;
  /** 0 when metrics are disabled. */
  readonly metricsPort: number;
  stop(): Promise<void>;
}

/**
 * The composition root: builds every service the server runs, listens, and only then starts the background jobs
 * (so a failed start leaves none running); stop() undoes it all in reverse order.
 */
export async function startServer(config: Config, log: Logger, testAuth: Pick<AuthDeps, 'now' | 'verifyPassword'> = {}): Promise<RunningServer> {
  const registry = openRegistry(config, log);
  const stops: (() => Promise<void>)[] = [() => registry.close()];
  let metricsPort = 0;
  const stopAll = async () => {
    for (const stop of stops.reverse()) await stop();
  };
  try {
    // A networked store (PostgreSQL) connects and migrates in the background: a start that cannot reach it fails here.
    await registry.metadata.ping();
    const auth = await createAccessController(config.auth, { ...testAuth, log, dataDir: config.storage.dataDir, metrics: registry.metrics });
    stops.push(() => auth.close());
    const health = new HealthMonitor(
      { storage: storageCheck(registry.driver), metadata: metadataCheck(registry.metadata) },
      config.health,
      log,
    );
    const webhooks = new WebhookDispatcher({ ...config.webhooks }, registry.metadata, log, registry.metrics);
    const certificates = await createCertificateSource(config.tls, { dataDir: config.storage.dataDir, log });
    const api = createApiServer(registry, log, health, auth.access, certificates, auth.tokenHandler);
    await health.start();
    stops.push(async () => health.stop());
    if (config.metrics.enabled) {
      const metricsServer = await startMetricsServer(config.metrics.addr, registry.metrics, health, log);
      stops.push(() => metricsServer.close());
      metricsPort = metricsServer.port;
    }
    const { host, port } = splitAddr(config.server.addr);
    let plainPort = 0;
    if (certificates) {
      if (config.tls.http.enabled) {
        // Before the certificates: ACME validates its HTTP-01 challenges through this listener.
        const plainAddr = splitAddr(config.tls.http.addr);
        const plain = await startPlainHttpListener(
          plainAddr.host,
          plainAddr.port,
          { challenges: certificates.challenges, redirect: config.tls.http.redirect, httpsPort: config.tls.http.httpsPort || port, fallback: api.handler },
          log,
        );
        stops.push(() => plain.close());
        plainPort = plain.port;
      }
      await certificates.start();
      stops.push(() => certificates.close());
    }
    const jobs = new BackgroundJobs(log);
    jobs.add(uploadPurgeJob(registry, config));
    jobs.add(pullRecorderJob(registry));
    jobs.add(webhookJob(webhooks, config));
    jobs.add(gcScheduleJob(registry, config));
    jobs.add(scrubJob(registry, config));
    // Registered before the listener so shutdown drains requests first, then stops the jobs, then closes storage.
    stops.push(() => jobs.stopAll());
    const bound = await api.listen(host, port);
    stops.push(() => api.close());
    log.info(
      { addr: `${bound.host}:${bound.port}`, tls: config.tls.mode, plainPort, metricsPort, dataDir: config.storage.dataDir, storage: registry.driver.name, metadata: registry.metadata.name },
      'wharf listening',
    );
    jobs.startAll();
    return { host: bound.host, port: bound.port, metricsPort, stop: stopAll };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
