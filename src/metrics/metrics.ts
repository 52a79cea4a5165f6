import client from 'prom-client';
import type { GcTotals, MetadataStore } from '../metadata/store.js';

const httpBuckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];

/**
 * Every metric Wharf exports, in one place so the dashboard test and the README can list them. Stored-content
 * gauges are computed at scrape time from the metadata store, cached briefly so that frequent scrapes cost nothing.
 */
export class Metrics {
  readonly registry = new client.Registry();

  readonly httpRequests = new client.Counter({
    name: 'wharf_http_requests_total',
    help: 'HTTP requests answered, by route, method and status.',
    labelNames: ['route', 'method', 'status'] as const,
    registers: [this.registry],
  });
  readonly httpDuration = new client.Histogram({
    name: 'wharf_http_request_duration_seconds',
    help: 'Time from request to the end of the response, by route and method.',
    labelNames: ['route', 'method'] as const,
    buckets: httpBuckets,
    registers: [this.registry],
  });
  readonly bytesReceived = new client.Counter({
    name: 'wharf_http_received_bytes_total',
    help: 'Request body bytes received, by route.',
    labelNames: ['route'] as const,
    registers: [this.registry],
  });
  readonly bytesSent = new client.Counter({
    name: 'wharf_http_sent_bytes_total',
    help: 'Response body bytes sent, by route.',
    labelNames: ['route'] as const,
    registers: [this.registry],
  });
  readonly uploadsInProgress = new client.Gauge({
    name: 'wharf_uploads_in_progress',
    help: 'Upload requests (POST, PATCH, PUT of blob data) being received now.',
    registers: [this.registry],
  });
  readonly uploadsWaiting = new client.Gauge({
    name: 'wharf_uploads_waiting',
    help: 'Upload requests waiting for a slot (registry.maxConcurrentUploads, maxConcurrentUploadsPerClient).',
    registers: [this.registry],
  });
  readonly uploadSessionsPurged = new client.Counter({
    name: 'wharf_upload_sessions_purged_total',
    help: 'Abandoned upload sessions removed.',
    registers: [this.registry],
  });
  readonly cacheRequests = new client.Counter({
    name: 'wharf_cache_requests_total',
    help: 'Lookups in Wharf caches, by cache and result (hit or miss).',
    labelNames: ['cache', 'result'] as const,
    registers: [this.registry],
  });
  readonly authFailures = new client.Counter({
    name: 'wharf_auth_failures_total',
    help: 'Failed authentications, by reason.',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  readonly authLockouts = new client.Counter({
    name: 'wharf_auth_lockouts_total',
    help: 'Addresses or users locked out after repeated failures.',
    registers: [this.registry],
  });
  readonly webhookDeliveries = new client.Counter({
    name: 'wharf_webhook_deliveries_total',
    help: 'Webhook delivery attempts, by endpoint and outcome (delivered, failed, dead).',
    labelNames: ['endpoint', 'outcome'] as const,
    registers: [this.registry],
  });

  readonly scrubCheckedBytes = new client.Counter({
    name: 'wharf_scrub_checked_bytes_total',
    help: 'Blob bytes the background scrub has read and verified.',
    registers: [this.registry],
  });
  readonly scrubProblems = new client.Counter({
    name: 'wharf_scrub_problems_total',
    help: 'Problems the background scrub found, by kind (corrupt, missing, size-mismatch); counted again each round they persist.',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });

  constructor(metadata: MetadataStore) {
    let cached: { at: number; value: Awaited<ReturnType<MetadataStore['stats']>> } | null = null;
    const stats = async () => {
      if (!cached || Date.now() - cached.at > 10_000) cached = { at: Date.now(), value: await metadata.stats() };
      return cached.value;
    };
    const storedGauge = (name: string, help: string, pick: (s: Awaited<ReturnType<MetadataStore['stats']>>) => number) =>
      new client.Gauge({
        name,
        help,
        registers: [this.registry],
        async collect() {
          this.set(pick(await stats()));
        },
      });
    storedGauge('wharf_repositories', 'Repositories known to the registry.', (s) => s.repositories);
    storedGauge('wharf_manifests', 'Manifests stored, counted once per repository.', (s) => s.manifests);
    storedGauge('wharf_blobs', 'Distinct blobs stored.', (s) => s.blobs);
    storedGauge('wharf_blob_bytes', 'Bytes of distinct blobs stored.', (s) => s.blobBytes);
    const deliveryGauge = (name: string, help: string, pick: 'pending' | 'dead') =>
      new client.Gauge({
        name,
        help,
        labelNames: ['endpoint'] as const,
        registers: [this.registry],
        async collect() {
          this.reset();
          for (const row of await metadata.deliveryStats()) this.set({ endpoint: row.endpoint }, row[pick]);
        },
      });
    // GC totals live in the store: passes run by `wharf gc` count like the server's own.
    const gcCounter = (name: string, help: string, pick: (t: GcTotals) => number) =>
      new client.Counter({
        name,
        help,
        registers: [this.registry],
        async collect() {
          this.reset();
          this.inc(pick(await metadata.gcTotals()));
        },
      });
    gcCounter('wharf_gc_runs_total', 'Garbage collection passes completed (by the server or `wharf gc`).', (t) => t.runs);
    gcCounter('wharf_gc_freed_bytes_total', 'Blob bytes deleted by garbage collection.', (t) => t.freedBytes);
    gcCounter('wharf_gc_deleted_blobs_total', 'Blobs deleted by garbage collection.', (t) => t.deletedBlobs);
    gcCounter('wharf_gc_deleted_manifests_total', 'Untagged manifests deleted by garbage collection.', (t) => t.deletedManifests);
    deliveryGauge('wharf_webhook_pending_events', 'Events waiting for delivery, by endpoint.', 'pending');
    deliveryGauge('wharf_webhook_dead_letters', 'Events that exhausted their delivery attempts, by endpoint.', 'dead');
    client.collectDefaultMetrics({ register: this.registry, prefix: 'wharf_' });
  }
}
