import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { GcStore, GcTrigger, ManifestReview } from '../metadata/store.js';
import { Pacer } from '../metadata/yield.js';
import { parseDigest } from '../oci/digest.js';
import type { BlobDriver } from '../storage/driver.js';
import { blobKey } from '../storage/paths.js';

export interface GcOptions {
  /** Also delete manifests no tag reaches (directly, through an index, or as a referrer of a surviving subject). */
  readonly deleteUntagged: boolean;
  readonly dryRun: boolean;
  /** Nothing younger than this is deleted: a push in progress may be about to reference it. */
  readonly gracePeriod: number;
  /** Kept with the pass in the store's GC record. */
  readonly trigger: GcTrigger;
  readonly onProgress?: (progress: GcProgress) => void;
}

export interface GcProgress {
  readonly phase: 'manifests' | 'blobs';
  readonly reviewed: number;
}

export interface GcSummary {
  readonly dryRun: boolean;
  readonly manifestsDeleted: number;
  readonly blobsDeleted: number;
  readonly bytesFreed: number;
  readonly reviewed: number;
  readonly deferred: number;
  readonly busy: number;
  readonly durationMs: number;
}

const leaseTtlMs = 60_000;

/**
 * Every queued review is due. The store defers a young item to when it turns old under the grace of the pass that
 * looked at it; a later pass with a shorter grace (`wharf gc --grace 0s` after a scheduled pass) must still see
 * it, so passes do not filter on that time: what is queued is only what changed and is not yet settled.
 */
const everythingQueued = Number.MAX_SAFE_INTEGER;

/**
 * Online garbage collection: no downtime, no read-only mode. It reads only the review queues the metadata store
 * keeps as content changes, so a pass costs what changed since the last one, not the size of the registry. Every
 * deletion is re-checked inside the store's transaction, and blob bytes are deleted under a lease that uploads of
 * the same digest also take, so a concurrent push is never undone. A pass yields the event loop every few
 * milliseconds (each store call is a short transaction), so requests are served while it works through a backlog.
 */
export class GarbageCollector {
  private running: Promise<GcSummary> | null = null;

  constructor(
    private readonly metadata: GcStore,
    private readonly driver: BlobDriver,
    private readonly log: Logger,
  ) {}

  /** One pass; concurrent callers share the pass in progress. */
  run(options: GcOptions): Promise<GcSummary> {
    this.running ??= this.pass(options).finally(() => {
      this.running = null;
    });
    return this.running;
  }

  private async pass(options: GcOptions): Promise<GcSummary> {
    const started = Date.now();
    const counts = { manifestsDeleted: 0, blobsDeleted: 0, bytesFreed: 0, reviewed: 0, deferred: 0, busy: 0 };
    const owner = `gc-${randomUUID()}`;
    const pacer = new Pacer();
    // Repositories deleted (by the API or `wharf repo delete`) are hidden at once and emptied here, a dry run
    // included: that finishes a deletion already asked for, and it is what lets a dry run count what the deletion
    // frees. GC's own decisions below are what a dry run only reports.
    await this.metadata.purgeDeletedRepositories();
    if (!options.dryRun) await this.finishPendingDeletions(owner, counts, pacer);
    if (options.deleteUntagged) {
      // Deleting an index or a subject queues its children and referrers: repeat until a pass deletes nothing.
      for (;;) {
        const deleted = await this.manifestPhase(options, counts, pacer);
        if (deleted === 0 || options.dryRun) break;
      }
    }
    await this.blobPhase(options, owner, counts, pacer);
    const finishedAt = Date.now();
    const summary: GcSummary = { dryRun: options.dryRun, ...counts, durationMs: finishedAt - started };
    if (!options.dryRun) {
      await this.metadata.recordGcPass({
        freedBytes: counts.bytesFreed,
        deletedBlobs: counts.blobsDeleted,
        deletedManifests: counts.manifestsDeleted,
        finishedAt,
        durationMs: summary.durationMs,
        trigger: options.trigger,
      });
    }
    this.log.info({ gc: summary }, options.dryRun ? 'garbage collection dry run' : 'garbage collection finished');
    return summary;
  }

  private async manifestPhase(
    options: GcOptions,
    counts: { manifestsDeleted: number; reviewed: number; deferred: number },
    pacer: Pacer,
  ): Promise<number> {
    const cutoff = Date.now() - options.gracePeriod;
    let after: ManifestReview | null = null;
    let deleted = 0;
    for (;;) {
      const page = await this.metadata.dueManifestReviews(everythingQueued, after, 200);
      for (const review of page) {
        const decision = await this.metadata.collectManifest(review, cutoff, options.gracePeriod, options.dryRun);
        counts.reviewed++;
        if (decision.outcome === 'deleted' || decision.outcome === 'would-delete') deleted++;
        if (decision.outcome === 'deferred') counts.deferred++;
        await pacer.tick();
      }
      options.onProgress?.({ phase: 'manifests', reviewed: counts.reviewed });
      if (page.length < 200) break;
      after = page[page.length - 1]!;
    }
    counts.manifestsDeleted += deleted;
    return deleted;
  }

  private async blobPhase(
    options: GcOptions,
    owner: string,
    counts: { blobsDeleted: number; bytesFreed: number; reviewed: number; deferred: number; busy: number },
    pacer: Pacer,
  ): Promise<void> {
    const cutoff = Date.now() - options.gracePeriod;
    let after = '';
    for (;;) {
      const page = await this.metadata.dueBlobReviews(everythingQueued, after, 500);
      for (const digest of page) {
        await pacer.tick();
        counts.reviewed++;
        if (options.dryRun) {
          const decision = await this.metadata.collectBlob(digest, cutoff, options.gracePeriod, true);
          if (decision.outcome === 'deferred') counts.deferred++;
          if (decision.outcome === 'would-delete') {
            counts.blobsDeleted++;
            counts.bytesFreed += decision.size;
          }
          continue;
        }
        if (!(await this.metadata.acquireBlobLease(digest, owner, leaseTtlMs))) {
          counts.busy++; // an upload of this digest is committing; look again next pass
          continue;
        }
        try {
          const decision = await this.metadata.collectBlob(digest, cutoff, options.gracePeriod, false);
          if (decision.outcome === 'deferred') counts.deferred++;
          // Counted by the pass that forgets the pending deletion: another node's pass may finish it first.
          if (decision.outcome === 'deleted' && (await this.deleteBytes(digest))) {
            counts.blobsDeleted++;
            counts.bytesFreed += decision.size;
          }
        } finally {
          await this.metadata.releaseBlobLease(digest, owner);
        }
      }
      options.onProgress?.({ phase: 'blobs', reviewed: counts.reviewed });
      if (page.length < 500) break;
      after = page[page.length - 1]!;
    }
  }

  /** True when this call finished the deletion (see clearPendingDeletion). */
  private async deleteBytes(digest: string): Promise<boolean> {
    const parsed = parseDigest(digest);
    if (parsed) await this.driver.delete(blobKey(parsed));
    return this.metadata.clearPendingDeletion(digest);
  }

  /** Deletions a crashed pass recorded but did not finish; a blob pushed again since then is left alone. */
  private async finishPendingDeletions(owner: string, counts: { blobsDeleted: number }, pacer: Pacer): Promise<void> {
    for (const digest of await this.metadata.pendingBlobDeletions(10_000)) {
      await pacer.tick();
      if (!(await this.metadata.acquireBlobLease(digest, owner, leaseTtlMs))) continue;
      try {
        if (await this.metadata.getBlob(digest)) await this.metadata.clearPendingDeletion(digest);
        else if (await this.deleteBytes(digest)) counts.blobsDeleted++;
      } finally {
        await this.metadata.releaseBlobLease(digest, owner);
      }
    }
  }
}
