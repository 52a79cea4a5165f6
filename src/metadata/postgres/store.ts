import type pg from 'pg';
import type { RepositoryListing, RepositoryQuery, TagSummary } from '../browse.js';
import { PostgresBrowse } from './browse.js';
import type {
  BlobRecord,
  Delivery,
  DeliveryStats,
  GcDecision,
  GcStore,
  GcTotals,
  ManifestRecord,
  ManifestReference,
  ManifestReview,
  ManifestWrite,
  ManifestWriteResult,
  MetadataStore,
  OutboxEvent,
  Page,
  PullRecord,
  ReferrerRecord,
  RepositoryUsage,
  StoreStats,
  TagDetail,
  UploadLimits,
  UploadOpening,
  UploadRecord,
  UploadUsage,
} from '../store.js';
import type { ExportCounts, ExportSink, ExportSource } from '../export-format.js';
import type { ManifestRow, ReferrerRow } from '../rows.js';
import { contentSql as sql, type BlobRow } from './content-sql.js';
import { PostgresCluster } from './cluster.js';
import { Db, run } from './db.js';
import { exportPostgres } from './export.js';
import { importPostgres } from './import.js';
import { PostgresGc } from './gc.js';
import { migrate } from './migrate.js';
import { PostgresOutbox } from './outbox.js';
import { createPool, redactUrl, RetryTransaction, Rollback, type PostgresOptions } from './pool.js';
import { PostgresUploadSessions } from './uploads.js';

const toBlob = (row: BlobRow): BlobRecord => ({ digest: row.digest, size: row.size, createdAt: row.created_at });

/**
 * The metadata store on PostgreSQL, for several Wharf nodes sharing one database. The schema and its triggers
 * mirror the SQLite store's; what SQLite got from its single writer (no decision can go stale under it) is here
 * row locks taken where a decision rests on a row, and advisory locks where it rests on a count or an order.
 * The constructor connects and migrates in the background; every call waits for that, and fails with its error.
 */
export class PostgresMetadataStore implements MetadataStore {
  readonly name = 'postgres';
  private readonly pool: pg.Pool;
  private readonly db: Db;
  private readonly gc: PostgresGc;
  private readonly outbox: PostgresOutbox;
  private readonly cluster: PostgresCluster;
  private readonly uploads: PostgresUploadSessions;
  private readonly browse: PostgresBrowse;
  /** Repository deletions of this process start in call order (the name is gone for every later call). */
  private deletions: Promise<unknown> = Promise.resolve();

  browseRepositories(query: RepositoryQuery, visible: ((name: string) => boolean) | null): Promise<RepositoryListing> {
    return this.browse.browseRepositories(query, visible);
  }

  browseTags(repository: string): Promise<TagSummary[] | null> {
    return this.browse.browseTags(repository);
  }

  // PostgreSQL gives no cheap signal that another node changed content (SQLite has data_version): no read cache.
  async contentVersion(): Promise<string | null> {
    return null;
  }

  constructor(options: PostgresOptions, onPoolError: (err: Error) => void = () => {}) {
    this.pool = createPool(options, onPoolError);
    const where = redactUrl(options.url);
    const ready = migrate(this.pool).catch((err: Error) => {
      throw new Error(`PostgreSQL metadata store at ${where}: ${err.message}`, { cause: err });
    });
    ready.catch(() => {}); // reported to every caller, not as an unhandled rejection
    this.db = new Db(this.pool, ready);
    this.gc = new PostgresGc(this.db);
    this.outbox = new PostgresOutbox(this.db);
    this.cluster = new PostgresCluster(this.db);
    this.uploads = new PostgresUploadSessions(this.db);
    this.browse = new PostgresBrowse(this.db);
  }

  /** The id of the live repository `name`, created if needed, held (FOR KEY SHARE) against deletion until commit. */
  private async ensureRepository(client: pg.ClientBase, name: string, now: number): Promise<number> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const [found] = (await run<{ id: number }>(client, sql.lockRepo, [name])).rows;
      if (found) return found.id;
      const [created] = (await run<{ id: number }>(client, sql.insertRepo, [name, now])).rows;
      if (created) return created.id;
    }
    throw new RetryTransaction(`repository ${name} changed while being written`);
  }

  async close(): Promise<void> {
    await this.pool.end();
  }

  exportSnapshot(sink: ExportSink): Promise<ExportCounts> {
    return exportPostgres(this.db, this.name, sink);
  }

  importSnapshot(source: ExportSource): Promise<ExportCounts> {
    return importPostgres(this.db, this.name, source);
  }

  async ping(): Promise<void> {
    await this.db.query({ name: 'wharf_ping', text: 'SELECT 1' });
  }

  async getBlob(digest: string): Promise<BlobRecord | null> {
    const [row] = await this.db.rows<BlobRow>(sql.getBlob, [digest]);
    return row ? toBlob(row) : null;
  }

  async getRepositoryBlob(repository: string, digest: string): Promise<BlobRecord | null> {
    const [row] = await this.db.rows<BlobRow>(sql.getRepoBlob, [repository, digest]);
    return row ? toBlob(row) : null;
  }

  async commitBlob(repository: string, blob: { digest: string; size: number }, uploadId?: string): Promise<void> {
    await this.db.tx(async (client) => {
      const now = Date.now();
      const id = await this.ensureRepository(client, repository, now);
      const inserted = (await run(client, sql.insertBlob, [blob.digest, blob.size, now])).rowCount;
      // An existing blob is held until commit, so GC cannot delete it between this check and the link.
      if (!inserted && !(await run(client, sql.lockBlob, [blob.digest])).rowCount) throw new RetryTransaction('blob deleted meanwhile');
      await run(client, sql.linkBlob, [id, blob.digest, now]);
      if (uploadId) await run(client, sql.deleteUpload, [uploadId]);
    });
  }

  linkBlob(repository: string, digest: string, events?: readonly OutboxEvent[]): Promise<boolean> {
    return this.db.tx(async (client) => {
      const now = Date.now();
      const id = await this.ensureRepository(client, repository, now);
      if (!(await run(client, sql.lockBlob, [digest])).rowCount) return new Rollback(false);
      await run(client, sql.linkBlob, [id, digest, now]);
      await this.outbox.record(client, events, now);
      return true;
    });
  }

  unlinkBlob(repository: string, digest: string, events?: readonly OutboxEvent[]): Promise<boolean> {
    return this.db.tx(async (client) => {
      const removed = ((await run(client, sql.unlinkBlob, [repository, digest])).rowCount ?? 0) > 0;
      if (removed) await this.outbox.record(client, events, Date.now());
      return removed;
    });
  }

  putManifest(m: ManifestWrite, events?: readonly OutboxEvent[]): Promise<ManifestWriteResult> {
    return this.db.tx(async (client): Promise<ManifestWriteResult | Rollback<ManifestWriteResult>> => {
      const now = Date.now();
      const repoId = await this.ensureRepository(client, m.repository, now);
      if (m.blobs.length > 0) {
        const linked = new Set((await run<{ digest: string }>(client, sql.lockLinkedBlobs, [repoId, m.blobs])).rows.map((r) => r.digest));
        const missing = m.blobs.find((digest) => !linked.has(digest));
        if (missing) return new Rollback({ ok: false, missingBlob: missing });
      }
      if (m.manifests.length > 0) {
        const present = new Set((await run<{ digest: string }>(client, sql.lockManifests, [repoId, m.manifests])).rows.map((r) => r.digest));
        const missing = m.manifests.find((digest) => !present.has(digest));
        if (missing) return new Rollback({ ok: false, missingManifest: missing });
      }
      const annotations = m.annotations ? JSON.stringify(m.annotations) : null;
      const values = [repoId, m.digest, m.mediaType, m.artifactType, m.subject, annotations, m.body.length, m.body, now];
      let manifestId = (await run<{ id: number }>(client, sql.insertManifest, values)).rows[0]?.id;
      // Already there: held until commit, so GC cannot delete it under the tags about to point at it.
      manifestId ??= (await run<{ id: number }>(client, sql.lockManifest, [repoId, m.digest])).rows[0]?.id;
      if (manifestId === undefined) throw new RetryTransaction('manifest deleted meanwhile');
      const refs = [...m.blobs, ...m.manifests];
      if (refs.length > 0) {
        await run(client, sql.insertReferences, [manifestId, refs, [...m.blobs.map(() => 'blob'), ...m.manifests.map(() => 'manifest')]]);
      }
      if (m.tags.length > 0) await run(client, sql.upsertTags, [repoId, [...new Set(m.tags)], m.digest, now]);
      await this.outbox.record(client, events, now);
      return { ok: true };
    });
  }

  async getManifest(repository: string, reference: ManifestReference): Promise<ManifestRecord | null> {
    const [row] =
      'tag' in reference
        ? await this.db.rows<ManifestRow>(sql.manifestByTag, [repository, reference.tag])
        : await this.db.rows<ManifestRow>(sql.manifestByDigest, [repository, reference.digest]);
    if (!row) return null;
    return {
      repository,
      digest: row.digest,
      mediaType: row.media_type,
      size: row.size,
      body: row.body,
      artifactType: row.artifact_type,
      subject: row.subject,
      createdAt: row.created_at,
    };
  }

  deleteManifest(repository: string, digest: string, events?: readonly OutboxEvent[]): Promise<boolean> {
    return this.db.tx(async (client) => {
      await run(client, sql.deleteTagsOf, [repository, digest]);
      const removed = ((await run(client, sql.deleteManifest, [repository, digest])).rowCount ?? 0) > 0;
      if (removed) await this.outbox.record(client, events, Date.now());
      return removed;
    });
  }

  deleteTag(repository: string, tag: string, events?: readonly OutboxEvent[]): Promise<boolean> {
    return this.db.tx(async (client) => {
      const removed = ((await run(client, sql.deleteTag, [repository, tag])).rowCount ?? 0) > 0;
      if (removed) await this.outbox.record(client, events, Date.now());
      return removed;
    });
  }

  async listTags(repository: string, page: Page): Promise<string[] | null> {
    const rows = await this.db.rows<{ name: string | null }>(sql.listTags, [repository, page.last ?? '', page.limit]);
    if (rows.length === 0) return null;
    return rows.flatMap((r) => (r.name === null ? [] : [r.name]));
  }

  async listRepositories(page: Page): Promise<string[]> {
    return (await this.db.rows<{ name: string }>(sql.listRepos, [page.last ?? '', page.limit])).map((r) => r.name);
  }

  async listReferrers(repository: string, subject: string, artifactType?: string): Promise<ReferrerRecord[]> {
    return (await this.db.rows<ReferrerRow>(sql.referrers, [repository, subject, artifactType ?? null])).map((r) => ({
      digest: r.digest,
      mediaType: r.media_type,
      size: r.size,
      artifactType: r.artifact_type,
      annotations: r.annotations ? (JSON.parse(r.annotations) as Record<string, string>) : null,
    }));
  }

  async recordPulls(pulls: readonly PullRecord[]): Promise<void> {
    if (pulls.length === 0) return;
    const tagged = pulls.filter((p) => p.tag);
    await this.db.tx(async (client) => {
      await run(client, sql.pullManifests, [pulls.map((p) => p.repository), pulls.map((p) => p.digest), pulls.map((p) => p.at)]);
      if (tagged.length > 0) await run(client, sql.pullTags, [tagged.map((p) => p.repository), tagged.map((p) => p.tag), tagged.map((p) => p.at)]);
    });
  }

  async stats(): Promise<StoreStats> {
    return (await this.db.rows<StoreStats>(sql.stats))[0]!;
  }

  async listBlobs(page: Page): Promise<BlobRecord[]> {
    return (await this.db.rows<BlobRow>(sql.listBlobs, [page.last ?? '', page.limit])).map(toBlob);
  }

  async deleteRepository(repository: string, events?: readonly OutboxEvent[]): Promise<boolean> {
    const marking = this.deletions.then(() =>
      this.db.tx(async (client) => {
        const [row] = (await run<{ id: number }>(client, sql.markDeleted, [repository])).rows;
        if (row) await this.outbox.record(client, events, Date.now());
        return row;
      }),
    );
    this.deletions = marking.catch(() => {});
    const deleted = await marking;
    if (!deleted) return false;
    await this.gc.purgeRepository(deleted.id);
    return true;
  }

  async repositoryUsage(repository: string): Promise<RepositoryUsage | null> {
    return (await this.db.rows<RepositoryUsage>(sql.usageOf, [repository]))[0] ?? null;
  }

  async listRepositoryUsage(page: Page): Promise<RepositoryUsage[]> {
    return this.db.rows<RepositoryUsage>(sql.listUsage, [page.last ?? '', page.limit]);
  }

  async listTagDetails(repository: string): Promise<TagDetail[]> {
    const rows = await this.db.rows<{ name: string; digest: string; updated_at: number; last_pulled_at: number | null }>(sql.tagDetails, [repository]);
    return rows.map((t) => ({ name: t.name, digest: t.digest, updatedAt: t.updated_at, lastPulledAt: t.last_pulled_at }));
  }

  async untaggedManifests(repository: string, createdBefore: number, limit: number, after = ''): Promise<string[]> {
    return (await this.db.rows<{ digest: string }>(sql.untagged, [repository, after, createdBefore, limit])).map((r) => r.digest);
  }

  async manifestsReferencing(digest: string): Promise<{ repository: string; digest: string }[]> {
    return this.db.rows<{ repository: string; digest: string }>(sql.referencing, [digest]);
  }

  removeBlobRecord(digest: string): Promise<boolean> {
    return this.db.tx(async (client) => {
      if (!(await run(client, sql.lockBlobForRemoval, [digest])).rowCount) return false;
      await run(client, sql.unlinkAll, [digest]);
      await run(client, sql.deleteBlob, [digest]);
      return true;
    });
  }

  // Upload sessions
  createUpload(upload: { id: string; repository: string; algorithm: string }): Promise<void> {
    return this.uploads.createUpload(upload);
  }

  openUpload(upload: { id: string; repository: string; algorithm: string }, limits: UploadLimits): Promise<UploadOpening> {
    return this.uploads.openUpload(upload, limits);
  }

  getUpload(id: string): Promise<UploadRecord | null> {
    return this.uploads.getUpload(id);
  }

  touchUpload(id: string, size?: number): Promise<void> {
    return this.uploads.touchUpload(id, size);
  }

  deleteUpload(id: string): Promise<void> {
    return this.uploads.deleteUpload(id);
  }

  listUploadsUpdatedBefore(time: number, limit: number, emptyOnly = false): Promise<UploadRecord[]> {
    return this.uploads.listUploadsUpdatedBefore(time, limit, emptyOnly);
  }

  countUploads(): Promise<number> {
    return this.uploads.countUploads();
  }

  uploadUsage(repository: string): Promise<UploadUsage> {
    return this.uploads.uploadUsage(repository);
  }

  // Event outbox
  appendEvents(events: readonly OutboxEvent[]): Promise<void> {
    return this.outbox.appendEvents(events);
  }

  dueDeliveries(endpoint: string, now: number, limit: number): Promise<Delivery[]> {
    return this.outbox.dueDeliveries(endpoint, now, limit);
  }

  claimDueDeliveries(endpoint: string, holder: string, now: number, limit: number, leaseMs: number): Promise<Delivery[]> {
    return this.cluster.claimDueDeliveries(endpoint, holder, now, limit, leaseMs);
  }

  markDelivered(endpoint: string, eventId: number): Promise<void> {
    return this.outbox.markDelivered(endpoint, eventId);
  }

  markFailed(endpoint: string, eventId: number, error: string, nextAttemptAt: number | null): Promise<void> {
    return this.outbox.markFailed(endpoint, eventId, error, nextAttemptAt);
  }

  deliveryStats(): Promise<DeliveryStats[]> {
    return this.outbox.deliveryStats();
  }

  listDeadDeliveries(endpoint: string | null, limit: number): Promise<Delivery[]> {
    return this.outbox.listDeadDeliveries(endpoint, limit);
  }

  requeueDead(endpoint: string | null): Promise<number> {
    return this.outbox.requeueDead(endpoint);
  }

  // Cluster-wide job leases
  tryAcquireJobLease(job: string, holder: string, ttlMs: number): Promise<boolean> {
    return this.cluster.tryAcquireJobLease(job, holder, ttlMs);
  }

  renewJobLease(job: string, holder: string, ttlMs: number): Promise<boolean> {
    return this.cluster.renewJobLease(job, holder, ttlMs);
  }

  releaseJobLease(job: string, holder: string): Promise<void> {
    return this.cluster.releaseJobLease(job, holder);
  }

  // Garbage collection
  acquireBlobLease(digest: string, owner: string, ttlMs: number): Promise<boolean> {
    return this.gc.acquireBlobLease(digest, owner, ttlMs);
  }

  releaseBlobLease(digest: string, owner: string): Promise<void> {
    return this.gc.releaseBlobLease(digest, owner);
  }

  dueBlobReviews(now: number, after: string, limit: number): Promise<string[]> {
    return this.gc.dueBlobReviews(now, after, limit);
  }

  dueManifestReviews(now: number, after: ManifestReview | null, limit: number): Promise<ManifestReview[]> {
    return this.gc.dueManifestReviews(now, after, limit);
  }

  collectBlob(digest: string, cutoff: number, graceMs: number, dryRun: boolean): Promise<GcDecision> {
    return this.gc.collectBlob(digest, cutoff, graceMs, dryRun);
  }

  pendingBlobDeletions(limit: number): Promise<string[]> {
    return this.gc.pendingBlobDeletions(limit);
  }

  clearPendingDeletion(digest: string): Promise<boolean> {
    return this.gc.clearPendingDeletion(digest);
  }

  collectManifest(review: ManifestReview, cutoff: number, graceMs: number, dryRun: boolean): Promise<GcDecision> {
    return this.gc.collectManifest(review, cutoff, graceMs, dryRun);
  }

  purgeDeletedRepositories(): Promise<number> {
    return this.gc.purgeDeletedRepositories();
  }

  recordGcPass(pass: Parameters<GcStore['recordGcPass']>[0]): Promise<void> {
    return this.gc.recordGcPass(pass);
  }

  gcTotals(): Promise<GcTotals> {
    return this.gc.gcTotals();
  }
}
