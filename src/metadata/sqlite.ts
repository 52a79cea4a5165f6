import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { migrations } from './sqlite-schema.js';
import type {
  RepositoryUsage,
  TagDetail,
  GcDecision,
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
import { SqliteOutbox } from './sqlite-outbox.js';
import { SqliteUploadSessions } from './sqlite-uploads.js';

export interface SqliteOptions {
  /** File path, or ':memory:'. */
  readonly path: string;
  /**
   * 'normal' survives a crash of the process (kill -9) without losing a commit; 'full' also survives power loss
   * at the cost of an fsync per commit on the event loop.
   */
  readonly synchronous: 'normal' | 'full';
}

interface ManifestRow {
  digest: string;
  media_type: string;
  size: number;
  body: Buffer;
  artifact_type: string | null;
  subject: string | null;
  created_at: number;
}

interface ReferrerRow {
  digest: string;
  media_type: string;
  size: number;
  artifact_type: string | null;
  annotations: string | null;
}

// better-sqlite3 is synchronous; each statement here is an indexed lookup or a small write, microseconds long, so
// running them on the event loop is cheaper than any hand-off to a thread. What could touch an unbounded number of
// rows (repository removal, GC, retention) is cut into bounded transactions with the event loop free in between.
export class SqliteMetadataStore implements MetadataStore {
  readonly name = 'sqlite';
  private readonly db: Database.Database;
  private readonly stmt;
  private readonly uploads: SqliteUploadSessions;
  private readonly gc: SqliteGc;
  private readonly outbox: SqliteOutbox;
  private readonly identity: DatabaseFileIdentity | null;
  private readonly checkpointer: WalCheckpointer | null = null;

  constructor(options: SqliteOptions) {
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
    const repoId = '(SELECT id FROM repositories WHERE name = ?)';
    const usage = 'SELECT name, blob_count AS blobs, blob_bytes AS bytes, manifest_count AS manifests, tag_count AS tags FROM repositories';
    this.stmt = {
      ensureRepo: db.prepare('INSERT INTO repositories (name, created_at) VALUES (?, ?) ON CONFLICT (name) DO NOTHING'),
      repoIdOf: db.prepare<[string], { id: number }>('SELECT id FROM repositories WHERE name = ?'),
      getBlob: db.prepare<[string], { digest: string; size: number; created_at: number }>(
        'SELECT digest, size, created_at FROM blobs WHERE digest = ?',
      ),
      getRepoBlob: db.prepare<[string, string], { digest: string; size: number; created_at: number }>(
        `SELECT b.digest, b.size, b.created_at FROM repository_blobs rb JOIN blobs b ON b.digest = rb.digest
         WHERE rb.repository_id = ${repoId} AND rb.digest = ?`,
      ),
      insertBlob: db.prepare('INSERT INTO blobs (digest, size, created_at) VALUES (?, ?, ?) ON CONFLICT (digest) DO NOTHING'),
      linkBlob: db.prepare(
        'INSERT INTO repository_blobs (repository_id, digest, created_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING',
      ),
      unlinkBlob: db.prepare(`DELETE FROM repository_blobs WHERE repository_id = ${repoId} AND digest = ?`),
      isLinked: db.prepare<[number, string], { one: number }>(
        'SELECT 1 AS one FROM repository_blobs WHERE repository_id = ? AND digest = ?',
      ),
      manifestIdOf: db.prepare<[number, string], { id: number }>('SELECT id FROM manifests WHERE repository_id = ? AND digest = ?'),
      insertManifest: db.prepare(
        `INSERT INTO manifests (repository_id, digest, media_type, artifact_type, subject, annotations, size, body, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (repository_id, digest) DO NOTHING`,
      ),
      insertReference: db.prepare('INSERT INTO manifest_references (manifest_id, digest, kind) VALUES (?, ?, ?) ON CONFLICT DO NOTHING'),
      upsertTag: db.prepare(
        `INSERT INTO tags (repository_id, name, manifest_digest, updated_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (repository_id, name) DO UPDATE SET manifest_digest = excluded.manifest_digest, updated_at = excluded.updated_at`,
      ),
      manifestByDigest: db.prepare<[string, string], ManifestRow>(
        `SELECT digest, media_type, size, body, artifact_type, subject, created_at FROM manifests
         WHERE repository_id = ${repoId} AND digest = ?`,
      ),
      manifestByTag: db.prepare<[string, string], ManifestRow>(
        `SELECT m.digest, m.media_type, m.size, m.body, m.artifact_type, m.subject, m.created_at
         FROM tags t JOIN manifests m ON m.repository_id = t.repository_id AND m.digest = t.manifest_digest
         WHERE t.repository_id = ${repoId} AND t.name = ?`,
      ),
      deleteTagsOf: db.prepare(`DELETE FROM tags WHERE repository_id = ${repoId} AND manifest_digest = ?`),
      deleteManifest: db.prepare(`DELETE FROM manifests WHERE repository_id = ${repoId} AND digest = ?`),
      deleteTag: db.prepare(`DELETE FROM tags WHERE repository_id = ${repoId} AND name = ?`),
      listTags: db.prepare<[number, string, number], { name: string }>(
        'SELECT name FROM tags WHERE repository_id = ? AND name > ? ORDER BY name LIMIT ?',
      ),
      listRepos: db.prepare<[string, number], { name: string }>('SELECT name FROM repositories WHERE name > ? AND deleted = 0 ORDER BY name LIMIT ?'),
      referrers: db.prepare<[string, string], ReferrerRow>(
        `SELECT digest, media_type, size, artifact_type, annotations FROM manifests
         WHERE repository_id = ${repoId} AND subject = ? ORDER BY digest`,
      ),
      pullManifest: db.prepare(`UPDATE manifests SET last_pulled_at = ? WHERE repository_id = ${repoId} AND digest = ?`),
      pullTag: db.prepare(`UPDATE tags SET last_pulled_at = ? WHERE repository_id = ${repoId} AND name = ?`),
      deleteUpload: db.prepare('DELETE FROM uploads WHERE id = ?'),
      stats: db.prepare<[], StoreStats>('SELECT repositories, manifests, blobs, blob_bytes AS blobBytes FROM store_totals'),
      listBlobs: db.prepare<[string, number], { digest: string; size: number; created_at: number }>(
        'SELECT digest, size, created_at FROM blobs WHERE digest > ? ORDER BY digest LIMIT ?',
      ),
      unlinkAll: db.prepare('DELETE FROM repository_blobs WHERE digest = ?'),
      deleteBlob: db.prepare('DELETE FROM blobs WHERE digest = ?'),
      usageOf: db.prepare<[string], RepositoryUsage>(`${usage} WHERE name = ? AND deleted = 0`),
      listUsage: db.prepare<[string, number], RepositoryUsage>(`${usage} WHERE name > ? AND deleted = 0 ORDER BY name LIMIT ?`),
      // Renamed out of the namespace (no valid repository name starts with '#') so the name is free at once.
      markDeleted: db.prepare<[string], { id: number }>(
        "UPDATE repositories SET deleted = 1, name = '#deleted/' || id WHERE name = ? AND deleted = 0 RETURNING id",
      ),
      tagDetails: db.prepare<[string], { name: string; digest: string; updated_at: number; last_pulled_at: number | null }>(
        `SELECT name, manifest_digest AS digest, updated_at, last_pulled_at FROM tags WHERE repository_id = ${repoId} ORDER BY updated_at DESC, name`,
      ),
      // Digest order follows the (repository_id, digest) index: a page reads about `limit` rows, not the repository.
      untagged: db.prepare<[string, string, number, number], { digest: string }>(
        `SELECT m.digest FROM manifests m WHERE m.repository_id = ${repoId} AND m.digest > ? AND m.created_at < ?
           AND NOT EXISTS (SELECT 1 FROM tags t WHERE t.repository_id = m.repository_id AND t.manifest_digest = m.digest)
         ORDER BY m.digest LIMIT ?`,
      ),
      referencing: db.prepare<[string], { repository: string; digest: string }>(
        `SELECT r.name AS repository, m.digest FROM manifest_references x JOIN manifests m ON m.id = x.manifest_id
         JOIN repositories r ON r.id = m.repository_id WHERE x.digest = ? ORDER BY r.name, m.digest`,
      ),
    };
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

  async backup(destination: string): Promise<void> {
    // SQLite's online backup API: a consistent snapshot, copied in steps so writers are not blocked for long.
    await this.db.backup(destination);
  }

  // Event outbox
  appendEvents(events: readonly OutboxEvent[]): Promise<void> {
    return this.outbox.appendEvents(events);
  }

  dueDeliveries(endpoint: string, now: number, limit: number): Promise<Delivery[]> {
    return this.outbox.dueDeliveries(endpoint, now, limit);
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

  clearPendingDeletion(digest: string): Promise<void> {
    return this.gc.clearPendingDeletion(digest);
  }

  collectManifest(review: ManifestReview, cutoff: number, graceMs: number, dryRun: boolean): Promise<GcDecision> {
    return this.gc.collectManifest(review, cutoff, graceMs, dryRun);
  }

  purgeDeletedRepositories(): Promise<number> {
    return this.gc.purgeDeletedRepositories();
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
