// The registry's background work, defined in one place so the server owns every timer the registry needs. GC,
// upload purge and scrub run on one node of a cluster at a time (exclusive-job.ts); the pull recorder and the
// webhook dispatcher run on every node (each flushes its own pulls; dispatchers claim what they deliver).
import type { Config } from '../config/schema.js';
import type { WebhookDispatcher } from '../events/dispatcher.js';
import type { Registry } from '../registry/registry.js';
import { repeating, type BackgroundJob } from './background-jobs.js';
import { exclusive } from './exclusive-job.js';

/** Pull times wait in memory this long at most; retention reads them in days, so seconds of delay cost nothing. */
const pullFlushInterval = 10_000;

/** Abandoned upload sessions and their staged bytes; the first pass at start-up clears what a restart left. */
export function uploadPurgeJob(registry: Registry, config: Config): BackgroundJob {
  const job = repeating('upload-purge', { interval: config.registry.uploadPurgeInterval, runAtStart: true }, () => registry.purgeUploads());
  return exclusive(job, registry.metadata, registry.log);
}

/** Batches the pull times the manifest GETs recorded into one write. */
export function pullRecorderJob(registry: Registry): BackgroundJob {
  return repeating('pull-recorder', { interval: pullFlushInterval }, () => registry.pulls.flush());
}

/** Scheduled online GC cycles (retention, then collection), when gc.enabled. */
export function gcScheduleJob(registry: Registry, config: Config): BackgroundJob | null {
  const { gc } = config;
  if (!gc.enabled) return null;
  const job = repeating('gc', { interval: gc.interval }, async () => {
    // Read-only mode freezes content; `wharf gc` run by hand still works (Distribution users collect in that mode).
    if (registry.readOnly.enabled) {
      registry.log.info('scheduled garbage collection skipped: the registry is read-only');
      return;
    }
    try {
      await registry.collect({ deleteUntagged: gc.deleteUntagged, dryRun: false, gracePeriod: gc.gracePeriod, trigger: 'schedule' });
    } catch (err) {
      registry.log.error({ err }, 'garbage collection failed');
    }
  });
  return exclusive(job, registry.metadata, registry.log);
}

/** The background scrub, when fsck.scrub.enabled. */
export function scrubJob(registry: Registry, config: Config): BackgroundJob | null {
  if (!config.fsck.scrub.enabled) return null;
  return exclusive({ name: 'scrub', start: () => registry.scrubber.start(), stop: () => registry.scrubber.stop() }, registry.metadata, registry.log);
}

/** Delivers the webhook outbox, when endpoints are configured. */
export function webhookJob(dispatcher: WebhookDispatcher, config: Config): BackgroundJob | null {
  if (config.webhooks.endpoints.length === 0) return null;
  return { name: 'webhook-dispatch', start: () => dispatcher.start(), stop: () => dispatcher.stop() };
}
