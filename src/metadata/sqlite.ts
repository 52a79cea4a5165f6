import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { migrations } from './sqlite-schema.js';
import type {
  RepositoryUsage,
  TagDetail,
  GcDecision,
  GcStore,
  GcTotals,
  ManifestReview,
  BlobRecord,
  Delivery,
  DeliveryStats,
  OutboxEvent,
  StoreStats,
  ManifestRecord,
  ManifestReference,
  ManifestWrite,
  ManifestWriteResult,
  MetadataStore,
  Page,
  PullRecord,
  ReferrerRecord,
  UploadLimits,
  UploadOpening,
  UploadRecord,
  UploadUsage,
} from './store.js';
import { DatabaseFileIdentity } from './sqlite-identity.js';
import { WalCheckpointer } from './sqlite-checkpointer.js';
import { SqliteGc } from './sqlite-gc.js';
import { SqliteCluster } from './sqlite-cluster.js';
import { SqliteOutbox } from './sqlite-outbox.js';
import { SqliteBrowse } from './sqlite-browse.js';
import type { RepositoryListing, RepositoryQuery, TagSummary } from './browse.js';
import { SqliteUploadSessions } from './sqlite-uploads.js';
import { prepareContentStatements, type ContentStatements } from './sqlite-content.js';
import { exportSqlite } from './sqlite-export.js';
import { importSqlite } from './sqlite-import.js';
import type { ExportCounts, ExportSink, ExportSource } from './export-format.js';

export interface SqliteOptions {
  /** File path, or ':memory:'. */
  readonly path: string;
  /**
   * 'normal' survives a crash of the process (kill -9) without losing a commit; 'full' also survives power loss
   * at the cost of an fsync per commit on the event loop.
   */
  readonly synchronous: 'normal' | 'full';
}

// better-sqlite3 is synchronous; each statement here is an indexed lookup or a small write, microseconds long, so
// running them on the event loop is cheaper than any hand-off to a thread. What could touch an unbounded number of
// rows (repository removal, GC, retention) is cut into bounded transactions with the event loop free in between.
export class SqliteMetadataStore implements MetadataStore {
  readonly name = 'sqlite';
  private readonly db: Database.Database;
  private readonly stmt: ContentStatements;
  private readonly uploads: SqliteUploadSessions;
  private readonly gc: SqliteGc;
  private readonly outbox: SqliteOutbox;
  private readonly browse: SqliteBrowse;
  private readonly cluster: SqliteCluster;
  private readonly identity: DatabaseFileIdentity | null;
  private readonly checkpointer: WalCheckpointer | null = null;
  private readonly path: string;

  constructor(options: SqliteOptions) {
    this.path = options.path;
    if (options.path !== ':memory:') mkdirSync(dirname(options.path), { recursive: true });
    this.db = new Database(options.path);
    this.identity = DatabaseFileIdentity.of(options.path);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma(`synchronous = ${options.synchronous === 'full' ? 'FULL' : 'NORMAL'}`);
    this.db.pragma('foreign_keys = ON');
    this.db.pragma('busy_timeout = 5000');
    this.migrate();
    if (options.path !== ':memory:') {
      // Checkpoints (and their fsyncs) happen in a worker instead of inside a commit on the event loop.
      this.db.pragma('wal_autocheckpoint = 0');
      this.checkpointer = new WalCheckpointer(options.path, () => {
        if (this.db.open) this.db.pragma('wal_autocheckpoint = 1000');
      });
    }
    const db = this.db;
    this.uploads = new SqliteUploadSessions(db);
    this.gc = new SqliteGc(db);
    this.outbox = new SqliteOutbox(db);
    this.browse = new SqliteBrowse(db);
    this.cluster = new SqliteCluster(db);
    this.stmt = prepareContentStatements(db);
  }

  private migrate(): void {
    const current = this.db.pragma('user_version', { simple: true }) as number;
    for (let version = current; version < migrations.length; version++) {
      this.db.transaction(() => {
        this.db.exec(migrations[version]!);
        this.db.pragma(`user_version = ${version + 1}`);
      })();
    }
  }

  private recordEvents(events: readonly OutboxEvent[] | undefined, now: number): void {
    this.outbox.record(events, now);
  }

  private ensureRepository(name: string, now: number): number {
    this.stmt.ensureRepo.run(name, now);
    return this.stmt.repoIdOf.get(name)!.id;
  }

  async close(): Promise<void> {
    await this.checkpointer?.close();
    if (this.db.open) this.db.close();
  }

  async ping(): Promise<void> {
    this.db.prepare('SELECT 1').get();
    this.identity?.verify();
  }

  async getBlob(digest: string): Promise<BlobRecord | null> {
    const row = this.stmt.getBlob.get(digest);
    return row ? { digest: row.digest, size: row.size, createdAt: row.created_at } : null;
  }

  async getRepositoryBlob(repository: string, digest: string): Promise<BlobRecord | null> {
    const row = this.stmt.getRepoBlob.get(repository, digest);
    return row ? { digest: row.digest, size: row.size, createdAt: row.created_at } : null;
  }

  async commitBlob(repository: string, blob: { digest: string; size: number }, uploadId?: string): Promise<void> {
    this.db.transaction(() => {
      const now = Date.now();
      const id = this.ensureRepository(repository, now);
      this.stmt.insertBlob.run(blob.digest, blob.size, now);
      this.stmt.linkBlob.run(id, blob.digest, now);
      if (uploadId) this.stmt.deleteUpload.run(uploadId);
    })();
  }

  async linkBlob(repository: string, digest: string, events?: readonly OutboxEvent[]): Promise<boolean> {
    return this.db.transaction(() => {
      if (!this.stmt.getBlob.get(digest)) return false;
      const now = Date.now();
      this.stmt.linkBlob.run(this.ensureRepository(repository, now), digest, now);
      this.recordEvents(events, now);
      return true;
    })();
  }

  async unlinkBlob(repository: string, digest: string, events?: readonly OutboxEvent[]): Promise<boolean> {
    return this.db.transaction(() => {
      const removed = this.stmt.unlinkBlob.run(repository, digest).changes > 0;
      if (removed) this.recordEvents(events, Date.now());
      return removed;
    })();
  }

  async putManifest(m: ManifestWrite, events?: readonly OutboxEvent[]): Promise<ManifestWriteResult> {
    return this.db.transaction((): ManifestWriteResult => {
      const now = Date.now();
      const repoId = this.ensureRepository(m.repository, now);
      for (const digest of m.blobs) {
        if (!this.stmt.isLinked.get(repoId, digest)) return { ok: false, missingBlob: digest };
      }
      for (const digest of m.manifests) {
        if (!this.stmt.manifestIdOf.get(repoId, digest)) return { ok: false, missingManifest: digest };
      }
      this.stmt.insertManifest.run(
        repoId,
        m.digest,
        m.mediaType,
        m.artifactType,
        m.subject,
        m.annotations ? JSON.stringify(m.annotations) : null,
        m.body.length,
        m.body,
        now,
      );
      const manifestId = this.stmt.manifestIdOf.get(repoId, m.digest)!.id;
      for (const digest of m.blobs) this.stmt.insertReference.run(manifestId, digest, 'blob');
      for (const digest of m.manifests) this.stmt.insertReference.run(manifestId, digest, 'manifest');
      for (const tag of m.tags) this.stmt.upsertTag.run(repoId, tag, m.digest, now);
      this.recordEvents(events, now);
      return { ok: true };
    })();
  }

  async getManifest(repository: string, reference: ManifestReference): Promise<ManifestRecord | null> {
    const row =
      'tag' in reference ? this.stmt.manifestByTag.get(repository, reference.tag) : this.stmt.manifestByDigest.get(repository, reference.digest);
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

  async contentVersion(): Promise<string | null> {
    const [own, others] = this.stmt.contentVersion.get()!;
    return `${own}.${others}`;
  }

  async deleteManifest(repository: string, digest: string, events?: readonly OutboxEvent[]): Promise<boolean> {
    return this.db.transaction(() => {
      this.stmt.deleteTagsOf.run(repository, digest);
      const removed = this.stmt.deleteManifest.run(repository, digest).changes > 0;
      if (removed) this.recordEvents(events, Date.now());
      return removed;
    })();
  }

  async deleteTag(repository: string, tag: string, events?: readonly OutboxEvent[]): Promise<boolean> {
    return this.db.transaction(() => {
      const removed = this.stmt.deleteTag.run(repository, tag).changes > 0;
      if (removed) this.recordEvents(events, Date.now());
      return removed;
    })();
  }

  async listTags(repository: string, page: Page): Promise<string[] | null> {
    const repo = this.stmt.repoIdOf.get(repository);
    if (!repo) return null;
    return this.stmt.listTags.all(repo.id, page.last ?? '', page.limit).map((r) => r.name);
  }

  async listRepositories(page: Page): Promise<string[]> {
    return this.stmt.listRepos.all(page.last ?? '', page.limit).map((r) => r.name);
  }

  async listReferrers(repository: string, subject: string, artifactType?: string): Promise<ReferrerRecord[]> {
    return this.stmt.referrers
      .all(repository, subject)
      .filter((r) => artifactType === undefined || r.artifact_type === artifactType)
      .map((r) => ({
        digest: r.digest,
        mediaType: r.media_type,
        size: r.size,
        artifactType: r.artifact_type,
        annotations: r.annotations ? (JSON.parse(r.annotations) as Record<string, string>) : null,
      }));
  }

  async recordPulls(pulls: readonly PullRecord[]): Promise<void> {
    this.db.transaction(() => {
      for (const p of pulls) {
        this.stmt.pullManifest.run(p.at, p.repository, p.digest);
        if (p.tag) this.stmt.pullTag.run(p.at, p.repository, p.tag);
      }
    })();
  }

  async createUpload(upload: { id: string; repository: string; algorithm: string }): Promise<void> {
    this.uploads.create(upload);
  }

  async openUpload(upload: { id: string; repository: string; algorithm: string }, limits: UploadLimits): Promise<UploadOpening> {
    return this.uploads.open(upload, limits);
  }

  async getUpload(id: string): Promise<UploadRecord | null> {
    return this.uploads.get(id);
  }

  async touchUpload(id: string, size?: number): Promise<void> {
    this.uploads.touch(id, size);
  }

  async deleteUpload(id: string): Promise<void> {
    this.uploads.delete(id);
  }

  async listUploadsUpdatedBefore(time: number, limit: number, emptyOnly = false): Promise<UploadRecord[]> {
    return this.uploads.updatedBefore(time, limit, emptyOnly);
  }

  async countUploads(): Promise<number> {
    return this.uploads.count();
  }

  async uploadUsage(repository: string): Promise<UploadUsage> {
    return this.uploads.usage(repository);
  }

  async stats(): Promise<StoreStats> {
    return this.stmt.stats.get()!;
  }

  async listBlobs(page: Page): Promise<BlobRecord[]> {
    return this.stmt.listBlobs.all(page.last ?? '', page.limit).map((r) => ({ digest: r.digest, size: r.size, createdAt: r.created_at }));
  }

  exportSnapshot(sink: ExportSink): Promise<ExportCounts> {
    return exportSqlite(this.db, this.path, this.name, sink);
  }

  importSnapshot(source: ExportSource): Promise<ExportCounts> {
    return importSqlite(this.db, this.name, source);
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

  async deleteRepository(repository: string, events?: readonly OutboxEvent[]): Promise<boolean> {
    const deleted = this.db.transaction(() => {
      const row = this.stmt.markDeleted.get(repository);
      if (row) this.recordEvents(events, Date.now());
      return row;
    })();
    if (!deleted) return false;
    await this.gc.purgeRepository(deleted.id);
    return true;
  }

  async repositoryUsage(repository: string): Promise<RepositoryUsage | null> {
    return this.stmt.usageOf.get(repository) ?? null;
  }

  async listRepositoryUsage(page: Page): Promise<RepositoryUsage[]> {
    return this.stmt.listUsage.all(page.last ?? '', page.limit);
  }

  browseRepositories(query: RepositoryQuery, visible: ((name: string) => boolean) | null): Promise<RepositoryListing> {
    return this.browse.browseRepositories(query, visible);
  }

  browseTags(repository: string): Promise<TagSummary[] | null> {
    return this.browse.browseTags(repository);
  }

  async listTagDetails(repository: string): Promise<TagDetail[]> {
    return this.stmt.tagDetails.all(repository).map((t) => ({ name: t.name, digest: t.digest, updatedAt: t.updated_at, lastPulledAt: t.last_pulled_at }));
  }

  async untaggedManifests(repository: string, createdBefore: number, limit: number, after = ''): Promise<string[]> {
    return this.stmt.untagged.all(repository, after, createdBefore, limit).map((r) => r.digest);
  }

  async manifestsReferencing(digest: string): Promise<{ repository: string; digest: string }[]> {
    return this.stmt.referencing.all(digest);
  }

  async removeBlobRecord(digest: string): Promise<boolean> {
    return this.db.transaction(() => {
      this.stmt.unlinkAll.run(digest);
      return this.stmt.deleteBlob.run(digest).changes > 0;
    })();
  }
}
