// Wires the web UI: its JSON API over the registry's services and browse port, the UI's built files, and the
// storage page's view of GC, disk and webhook deliveries.
import { statfs } from 'node:fs/promises';
import { WebApi } from '../api/handlers/api-v1.js';
import type { WebAccess } from '../auth/web.js';
import type { Registry } from '../registry/registry.js';
import { UiAssets } from '../ui/assets.js';
import type { GcReport, Maintenance } from '../ui/maintenance.js';

function maintenanceOf(registry: Registry): Maintenance {
  const { config, metadata } = registry;
  const report = (s: GcReport): GcReport => ({ dryRun: s.dryRun, manifestsDeleted: s.manifestsDeleted, blobsDeleted: s.blobsDeleted, bytesFreed: s.bytesFreed, durationMs: s.durationMs });
  return {
    totals: () => metadata.stats(),
    async disk() {
      try {
        const s = await statfs(config.storage.dataDir);
        return { total: s.blocks * s.bsize, free: s.bavail * s.bsize };
      } catch {
        return null;
      }
    },
    async lastGc() {
      const t = await metadata.gcTotals();
      if (t.lastFinishedAt === null) return null;
      return {
        at: t.lastFinishedAt,
        trigger: t.lastTrigger,
        report: { dryRun: false, manifestsDeleted: t.lastDeletedManifests, blobsDeleted: t.lastDeletedBlobs, bytesFreed: t.lastFreedBytes, durationMs: t.lastDurationMs },
        runs: t.runs,
        totalBytesFreed: t.freedBytes,
      };
    },
    async runGc(dryRun) {
      const { gc } = await registry.collect({ dryRun, deleteUntagged: config.gc.deleteUntagged, gracePeriod: config.gc.gracePeriod, trigger: 'ui' });
      return report(gc);
    },
    async deliveries() {
      const endpoints = await metadata.deliveryStats();
      const dead = await metadata.listDeadDeliveries(null, 100);
      return {
        endpoints: endpoints.map((e) => ({ endpoint: e.endpoint, pending: e.pending, dead: e.dead })),
        dead: dead.map((d) => ({ endpoint: d.endpoint, eventId: d.eventId, repository: d.repository, attempts: d.attempts, lastError: d.lastError, createdAt: d.createdAt })),
      };
    },
    retryDead: (endpoint) => metadata.requeueDead(endpoint),
  };
}

/** The UI and its API, or null when ui.enabled is false. */
export function createWebUi(registry: Registry, web: WebAccess, options: { assetDir?: string } = {}): WebApi | null {
  const { config } = registry;
  if (!config.ui.enabled) return null;
  let assets: UiAssets | null = null;
  try {
    assets = new UiAssets(config.ui.path, config.ui.title, options.assetDir);
  } catch (err) {
    // A checkout built with tsc alone (the fast test tier) still serves the registry and the UI's JSON API.
    registry.log.warn({ err: (err as Error).message }, 'web UI files missing: serving its JSON API only');
  }
  return new WebApi({ config, services: registry.services, browse: registry.metadata, web, maintenance: maintenanceOf(registry), assets });
}
