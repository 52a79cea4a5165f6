import type { BrowseStore } from './browse.js';

// The metadata store: everything about content except its bytes. Async so that a networked store (PostgreSQL) fits
// behind the same interface; every multi-row change is one transaction, which is what later online GC and
// several nodes rely on.
import type { ExportCounts, ExportSink, ExportSource } from './export-format.js';

export interface BlobRecord {
  readonly digest: string;
  readonly size: number;
  readonly createdAt: number;
}

export interface ManifestRecord {
  readonly repository: string;
  readonly digest: string;
  readonly mediaType: string;
  readonly size: number;
  readonly body: Buffer;
  readonly artifactType: string | null;
  readonly subject: string | null;
  readonly createdAt: number;
}

export interface ReferrerRecord {
  readonly digest: string;
  readonly mediaType: string;
  readonly size: number;
  readonly artifactType: string | null;
  readonly annotations: Record<string, string> | null;
}

export interface ManifestWrite {
  readonly repository: string;
  readonly digest: string;
  readonly mediaType: string;
  readonly body: Buffer;
  readonly artifactType: string | null;
  readonly subject: string | null;
  readonly annotations: Record<string, string> | null;
  /** Blobs (config, layers) that must already be linked to the repository. */
  readonly blobs: readonly string[];
  /** Child manifests (of an index) that must already exist in the repository. */
  readonly manifests: readonly string[];
  readonly tags: readonly string[];
}

export type ManifestWriteResult =
  | { readonly ok: true }
  | { readonly ok: false; readonly missingBlob?: string; readonly missingManifest?: string };

export interface UploadRecord {
  readonly id: string;
  readonly repository: string;
  readonly algorithm: string;
  /** Bytes staged so far, as last recorded (they count toward the repository's quota). */
  readonly size: number;
  readonly createdAt: number;
  readonly updatedAt: number;
}

/** Open upload sessions of one repository and the bytes they have staged. */
export interface UploadUsage {
  readonly sessions: number;
  readonly bytes: number;
}

export interface UploadLimits {
  readonly total: number;
  readonly perRepository: number;
}

export type UploadOpening = 'opened' | 'total-limit' | 'repository-limit';

export interface Page {
  /** Exclusive lower bound in lexical order. */
  readonly last?: string;
  readonly limit: number;
}

export type ManifestReference = { readonly tag: string } | { readonly digest: string };

export interface PullRecord {
  readonly repository: string;
  readonly digest: string;
  readonly tag: string | null;
  readonly at: number;
}

/** An event to deliver, recorded in the same transaction as the change it describes (the durable outbox). */
export interface OutboxEvent {
  readonly repository: string;
  /** The serialised event; each endpoint formats it on delivery. */
  readonly payload: string;
  /** Endpoints (by name) that want it; nothing is recorded when empty. */
  readonly endpoints: readonly string[];
}

export interface Delivery {
  readonly eventId: number;
  readonly endpoint: string;
  readonly repository: string;
  readonly payload: string;
  readonly attempts: number;
  readonly lastError: string | null;
  readonly createdAt: number;
}

export interface DeliveryStats {
  readonly endpoint: string;
  readonly pending: number;
  readonly dead: number;
}

export interface StoreStats {
  readonly repositories: number;
  readonly manifests: number;
  readonly blobs: number;
  readonly blobBytes: number;
}

/** What one GC step decided about a blob or manifest; the decision and the deletion are one transaction. */
export interface GcDecision {
  readonly outcome: 'deleted' | 'would-delete' | 'kept' | 'deferred' | 'gone';
  readonly size: number;
}

/** What started a GC pass: the server's schedule, `wharf gc`, or an admin in the web UI. */
export type GcTrigger = 'schedule' | 'cli' | 'ui';

/** One finished GC pass (not a dry run). */
export interface GcPass {
  readonly freedBytes: number;
  readonly deletedBlobs: number;
  readonly deletedManifests: number;
  /** Epoch ms. */
  readonly finishedAt: number;
  readonly durationMs: number;
  readonly trigger: GcTrigger;
}

/**
 * What every finished GC pass (the server's, `wharf gc`'s or the UI's) added up to, and the last one, kept in the
 * store: it is the one record of GC that metrics, `wharf status` (server running or not) and the UI read, across
 * restarts and, on PostgreSQL, across nodes.
 */
export interface GcTotals {
  readonly runs: number;
  readonly freedBytes: number;
  readonly deletedBlobs: number;
  readonly deletedManifests: number;
  /** When the last pass finished (epoch ms), null before the first. */
  readonly lastFinishedAt: number | null;
  readonly lastFreedBytes: number;
  readonly lastDeletedBlobs: number;
  readonly lastDeletedManifests: number;
  readonly lastDurationMs: number;
  /** Null before the first pass, and for a last pass recorded before the store kept its trigger. */
  readonly lastTrigger: GcTrigger | null;
}

export interface ManifestReview {
  readonly repository: string;
  readonly digest: string;
}

export interface RepositoryUsage {
  readonly name: string;
  /** Distinct blobs linked to the repository, and their bytes (what a quota counts). */
  readonly blobs: number;
  readonly bytes: number;
  readonly manifests: number;
  readonly tags: number;
}

export interface TagDetail {
  readonly name: string;
  readonly digest: string;
  /** When the tag was last pushed (moved). */
  readonly updatedAt: number;
  readonly lastPulledAt: number | null;
}

/** What every store has, whichever ports it implements. */
export interface StoreLifecycle {
  readonly name: string;
  close(): Promise<void>;
  /** A trivial round trip, for readiness checks. */
  ping(): Promise<void>;
}

/** Blobs, manifests, tags and repositories: what the distribution API reads and writes. */
export interface ContentStore {
  getBlob(digest: string): Promise<BlobRecord | null>;
  getRepositoryBlob(repository: string, digest: string): Promise<BlobRecord | null>;
  /** Records a verified blob, links it to the repository and ends the upload session, in one transaction. */
  commitBlob(repository: string, blob: { digest: string; size: number }, uploadId?: string): Promise<void>;
  /** Links an existing blob (cross-repository mount); false when the blob is unknown. */
  linkBlob(repository: string, digest: string, events?: readonly OutboxEvent[]): Promise<boolean>;
  unlinkBlob(repository: string, digest: string, events?: readonly OutboxEvent[]): Promise<boolean>;

  // Events are recorded only when the change happens.
  putManifest(manifest: ManifestWrite, events?: readonly OutboxEvent[]): Promise<ManifestWriteResult>;
  getManifest(repository: string, reference: ManifestReference): Promise<ManifestRecord | null>;
  /**
   * A token that differs whenever content may have changed since it was read, by this process or by any other
   * writer of the same database (a CLI command, another node): a read cache keyed by it never serves what a
   * fresh read would not. Must be cheap (no table read). Read it before the read it guards. null: the store has no
   * such signal, and reads must not be cached.
   */
  contentVersion(): Promise<string | null>;
  /** Removes the manifest and every tag pointing at it. */
  deleteManifest(repository: string, digest: string, events?: readonly OutboxEvent[]): Promise<boolean>;
  deleteTag(repository: string, tag: string, events?: readonly OutboxEvent[]): Promise<boolean>;
  /** null when the repository does not exist. */
  listTags(repository: string, page: Page): Promise<string[] | null>;
  listRepositories(page: Page): Promise<string[]>;
  listReferrers(repository: string, subject: string, artifactType?: string): Promise<ReferrerRecord[]>;
  /**
   * Removes the repository with its tags, manifests and links; GC then reclaims blobs nothing else uses. The name
   * is gone (NAME_UNKNOWN, free for a new push) and the events recorded at once; the contents of a large
   * repository go in bounded transactions after that, and a pass that stopped half-way (a crash) is finished by
   * GcStore.purgeDeletedRepositories.
   */
  deleteRepository(repository: string, events?: readonly OutboxEvent[]): Promise<boolean>;
  listTagDetails(repository: string): Promise<TagDetail[]>;
  /**
   * Manifests no tag points at, created before `createdBefore`, in digest order after `after` (retention
   * candidates; GC re-checks each).
   */
  untaggedManifests(repository: string, createdBefore: number, limit: number, after?: string): Promise<string[]>;
  /** Manifests that reference the blob, in any repository (fsck reports what a bad blob breaks). */
  manifestsReferencing(digest: string): Promise<{ repository: string; digest: string }[]>;
  /** Forgets a blob whose bytes are corrupt or missing, so it is no longer served (fsck --repair). */
  removeBlobRecord(digest: string): Promise<boolean>;
  recordPulls(pulls: readonly PullRecord[]): Promise<void>;
  /** Every blob the registry knows, in digest order, for walkers (backup, fsck, GC). */
  listBlobs(page: Page): Promise<BlobRecord[]>;
}

/** Upload sessions and the bytes they stage. */
export interface UploadSessionStore {
  createUpload(upload: { id: string; repository: string; algorithm: string }): Promise<void>;
  getUpload(id: string): Promise<UploadRecord | null>;
  /** Opens a session unless that would exceed a limit on open sessions (checked and inserted atomically). */
  openUpload(upload: { id: string; repository: string; algorithm: string }, limits: UploadLimits): Promise<UploadOpening>;
  /** Marks the session active; with `size`, also records how many bytes it has staged. */
  touchUpload(id: string, size?: number): Promise<void>;
  deleteUpload(id: string): Promise<void>;
  /** Sessions idle since before `time`; with emptyOnly, only those that never staged a byte. */
  listUploadsUpdatedBefore(time: number, limit: number, emptyOnly?: boolean): Promise<UploadRecord[]>;
  countUploads(): Promise<number>;
  uploadUsage(repository: string): Promise<UploadUsage>;
}

/**
 * Totals, kept as counters with the data they count: each call reads a few rows whatever the registry's size
 * (quota checks run on every upload request, metrics scrape often).
 */
export interface UsageStore {
  stats(): Promise<StoreStats>;
  /** null when the repository does not exist. */
  repositoryUsage(repository: string): Promise<RepositoryUsage | null>;
  listRepositoryUsage(page: Page): Promise<RepositoryUsage[]>;
}

/** Online garbage collection. Review queues list what may have become garbage since it was last looked at. */
export interface GcStore {
  getBlob(digest: string): Promise<BlobRecord | null>;
  /**
   * A short exclusive claim on a digest, across processes and nodes: held by an upload while it commits the bytes
   * and by GC while it deletes them, so neither undoes the other. Expired leases are taken over.
   */
  acquireBlobLease(digest: string, owner: string, ttlMs: number): Promise<boolean>;
  releaseBlobLease(digest: string, owner: string): Promise<void>;
  dueBlobReviews(now: number, after: string, limit: number): Promise<string[]>;
  /** Due reviews in repository-name, then digest order, after the exclusive bound `after`. */
  dueManifestReviews(now: number, after: ManifestReview | null, limit: number): Promise<ManifestReview[]>;
  /**
   * Deletes the blob's record (and its repository links) when, re-checked inside the transaction, no manifest
   * references it and neither it nor any link is younger than `cutoff`; the caller then deletes the bytes.
   */
  collectBlob(digest: string, cutoff: number, graceMs: number, dryRun: boolean): Promise<GcDecision>;
  /** Digests whose record collectBlob removed and whose bytes are not confirmed deleted yet. */
  pendingBlobDeletions(limit: number): Promise<string[]>;
  /**
   * The bytes are gone (or the blob was pushed again and must stay): forget the pending deletion. True when this call
   * forgot it, false when it was already gone: with several GC passes at once (several nodes), only the pass whose
   * call returns true counts the blob as freed.
   */
  clearPendingDeletion(digest: string): Promise<boolean>;
  /** Deletes an untagged manifest that no surviving index or subject keeps, once older than `cutoff`. */
  collectManifest(review: ManifestReview, cutoff: number, graceMs: number, dryRun: boolean): Promise<GcDecision>;
  /** Finishes removing the contents of deleted repositories (a deletion cut short); returns how many. */
  purgeDeletedRepositories(): Promise<number>;
  /** Adds a finished pass (not a dry run) to the totals and keeps it as the last pass. */
  recordGcPass(pass: GcPass): Promise<void>;
  gcTotals(): Promise<GcTotals>;
}

/** The durable event outbox: per endpoint, one queue per repository, delivered in order. */
export interface OutboxStore {
  appendEvents(events: readonly OutboxEvent[]): Promise<void>;
  /** The oldest undelivered event of each repository for the endpoint, if due by `now` (claimed or not). */
  dueDeliveries(endpoint: string, now: number, limit: number): Promise<Delivery[]>;
  /**
   * What dispatchers deliver, when several nodes share the outbox: the due heads (as dueDeliveries) that no other
   * holder's claim covers, claimed for `holder` for `leaseMs` (by the database's clock where there is one). A
   * claimed head is handed to no other holder until markDelivered or markFailed settles it or its claim expires
   * (then it is claimable again: at least once). An event is never claimable while an earlier event of its
   * repository for the endpoint is undelivered, so each repository's events still go out in order.
   */
  claimDueDeliveries(endpoint: string, holder: string, now: number, limit: number, leaseMs: number): Promise<Delivery[]>;
  markDelivered(endpoint: string, eventId: number): Promise<void>;
  /** Schedules a retry at nextAttemptAt, or dead-letters the delivery when it is null. */
  markFailed(endpoint: string, eventId: number, error: string, nextAttemptAt: number | null): Promise<void>;
  deliveryStats(): Promise<DeliveryStats[]>;
  listDeadDeliveries(endpoint: string | null, limit: number): Promise<Delivery[]>;
  /** Puts dead-lettered deliveries back in their queues; returns how many. */
  requeueDead(endpoint: string | null): Promise<number>;
}

/**
 * Leases on cluster-wide background jobs (GC, upload purge, scrub), so that of several nodes sharing the store
 * one runs a job at a time. Expiry is measured by the database's clock where there is one (nodes' clocks may
 * disagree); a holder that stops renewing loses the lease once it expires.
 */
export interface JobLeaseStore {
  /** Takes the lease on `job` for `ttlMs` if it is free, expired, or already `holder`'s (then extends it). */
  tryAcquireJobLease(job: string, holder: string, ttlMs: number): Promise<boolean>;
  /** Extends `holder`'s lease by `ttlMs` from now; false when another holder has taken it (it was lost). */
  renewJobLease(job: string, holder: string, ttlMs: number): Promise<boolean>;
  /** Gives the lease up, if `holder` has it, so another node need not wait for it to expire. */
  releaseJobLease(job: string, holder: string): Promise<void>;
}

/** What retention reads and deletes: tags by age, then untagged manifests under GC's own re-check. */
export type RetentionStore = Pick<ContentStore, 'listRepositories' | 'listTagDetails' | 'deleteTag' | 'untaggedManifests'> &
  Pick<GcStore, 'collectManifest'>;

/**
 * The store's whole content as a logical export (the format is in export-format.ts, the same for every database),
 * and back: what backup and restore use, and how a registry moves from one database to another.
 */
export interface ExportableStore {
  /**
   * Hands the sink the header, every record and the end, as of one instant (one read transaction), while the store
   * keeps serving: memory stays bounded whatever the store's size and the event loop is free between batches.
   * Exported: repositories, blobs, links, manifests with what they reference, tags, upload sessions, undelivered
   * outbox events, pending blob deletions; not exported: what the store derives from those (usage counters, totals,
   * GC review queues) and short-lived leases. A repository being deleted is not exported (it is already gone).
   */
  exportSnapshot(sink: ExportSink): Promise<ExportCounts>;
  /**
   * Loads an export into this store, which must be empty (else StoreNotEmptyError), all or nothing: a damaged or
   * truncated export throws an ExportFormatError naming the line and leaves the store empty. Derived state is
   * rebuilt as for content pushed anew: usage counters count what was imported, and every blob and manifest is
   * queued for one GC review (a review only re-checks; nothing is deleted that a manifest or tag keeps). Nothing
   * else may use the store until the import returns.
   */
  importSnapshot(source: ExportSource): Promise<ExportCounts>;
}

/** The whole store: every port. Code that needs one concern depends on that port alone. */
export interface MetadataStore
  extends StoreLifecycle,
    ContentStore,
    UploadSessionStore,
    UsageStore,
    GcStore,
    OutboxStore,
    ExportableStore,
    JobLeaseStore,
    BrowseStore {}
