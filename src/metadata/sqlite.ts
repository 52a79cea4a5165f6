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

interface DeliveryRow {
  event_id: number;
  endpoint: string;
  repository: string;
  payload: string;
  attempts: number;
  last_error: string | null;
  created_at: number;
}

function toDelivery(row: DeliveryRow): Delivery {
  return {
    eventId: row.event_id,
    endpoint: row.endpoint,
    repository: row.repository,
    payload: row.payload,
    attempts: row.attempts,
    lastError: row.last_error,
    createdAt: row.created_at,
  };
}

// better-sqlite3 is synchronous; each statement here is an indexed lookup or a small write, microseconds long, so
// running them on the event loop is cheaper than any hand-off to a thread.
export class SqliteMetadataStore implements MetadataStore {
  readonly name = 'sqlite';
  private readonly db: Database.Database;
  private readonly stmt;
  private readonly uploads: SqliteUploadSessions;
  private readonly identity: DatabaseFileIdentity | null;

  constructor(options: SqliteOptions) {
    if (options.path !== ':memory:') mkdirSync(dirname(options.path), { recursive: true });
    this.db = new Database(options.path);
    this.identity = DatabaseFileIdentity.of(options.path);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma(`synchronous = ${options.synchronous === 'full' ? 'FULL' : 'NORMAL'}`);
    this.db.pragma('foreign_keys = ON');
    this.db.pragma('busy_timeout = 5000');
    this.migrate();
    const db = this.db;
    this.uploads = new SqliteUploadSessions(db);
    const repoId = '(SELECT id FROM repositories WHERE name = ?)';
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
      listRepos: db.prepare<[string, number], { name: string }>('SELECT name FROM repositories WHERE name > ? ORDER BY name LIMIT ?'),
      referrers: db.prepare<[string, string], ReferrerRow>(
        `SELECT digest, media_type, size, artifact_type, annotations FROM manifests
         WHERE repository_id = ${repoId} AND subject = ? ORDER BY digest`,
      ),
      pullManifest: db.prepare(`UPDATE manifests SET last_pulled_at = ? WHERE repository_id = ${repoId} AND digest = ?`),
      pullTag: db.prepare(`UPDATE tags SET last_pulled_at = ? WHERE repository_id = ${repoId} AND name = ?`),
      deleteUpload: db.prepare('DELETE FROM uploads WHERE id = ?'),
      stats: db.prepare<[], StoreStats>(
        `SELECT (SELECT count(*) FROM repositories) AS repositories, (SELECT count(*) FROM manifests) AS manifests,
                (SELECT count(*) FROM blobs) AS blobs, (SELECT coalesce(sum(size), 0) FROM blobs) AS blobBytes`,
      ),
      listBlobs: db.prepare<[string, number], { digest: string; size: number; created_at: number }>(
        'SELECT digest, size, created_at FROM blobs WHERE digest > ? ORDER BY digest LIMIT ?',
      ),
      acquireLease: db.prepare(
        `INSERT INTO blob_leases (digest, owner, expires_at) VALUES (?, ?, ?)
         ON CONFLICT (digest) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at WHERE blob_leases.expires_at < ?`,
      ),
      releaseLease: db.prepare('DELETE FROM blob_leases WHERE digest = ? AND owner = ?'),
      dueBlobs: db.prepare<[number, string, number], { digest: string }>(
        'SELECT digest FROM gc_blob_review WHERE review_after <= ? AND digest > ? ORDER BY digest LIMIT ?',
      ),
      dueManifests: db.prepare<[number, string, string, string, number], { repository: string; digest: string }>(
        `SELECT r.name AS repository, q.digest FROM gc_manifest_review q JOIN repositories r ON r.id = q.repository_id
         WHERE q.review_after <= ? AND (r.name > ? OR (r.name = ? AND q.digest > ?)) ORDER BY r.name, q.digest LIMIT ?`,
      ),
      blobReferenced: db.prepare<[string], { one: number }>("SELECT 1 AS one FROM manifest_references WHERE digest = ? AND kind = 'blob' LIMIT 1"),
      newestLink: db.prepare<[string], { newest: number | null }>('SELECT max(created_at) AS newest FROM repository_blobs WHERE digest = ?'),
      deferBlob: db.prepare('UPDATE gc_blob_review SET review_after = ? WHERE digest = ?'),
      dequeueBlob: db.prepare('DELETE FROM gc_blob_review WHERE digest = ?'),
      unlinkAll: db.prepare('DELETE FROM repository_blobs WHERE digest = ?'),
      unusedLinks: db.prepare<[string], { repository_id: number; created_at: number }>(
        `SELECT rb.repository_id, rb.created_at FROM repository_blobs rb WHERE rb.digest = ? AND NOT EXISTS (
           SELECT 1 FROM manifest_references x JOIN manifests m ON m.id = x.manifest_id
           WHERE x.digest = rb.digest AND x.kind = 'blob' AND m.repository_id = rb.repository_id)`,
      ),
      unlinkFrom: db.prepare('DELETE FROM repository_blobs WHERE repository_id = ? AND digest = ?'),
      deleteBlob: db.prepare('DELETE FROM blobs WHERE digest = ?'),
      addPendingDeletion: db.prepare('INSERT INTO gc_pending_deletions (digest) VALUES (?) ON CONFLICT DO NOTHING'),
      pendingDeletions: db.prepare<[number], { digest: string }>('SELECT digest FROM gc_pending_deletions LIMIT ?'),
      clearPendingDeletion: db.prepare('DELETE FROM gc_pending_deletions WHERE digest = ?'),
      reviewedManifest: db.prepare<[string, string], { id: number; repository_id: number; size: number; subject: string | null; created_at: number }>(
        `SELECT m.id, m.repository_id, m.size, m.subject, m.created_at FROM manifests m
         WHERE m.repository_id = ${repoId} AND m.digest = ?`,
      ),
      manifestTagged: db.prepare<[number, string], { one: number }>('SELECT 1 AS one FROM tags WHERE repository_id = ? AND manifest_digest = ? LIMIT 1'),
      manifestHasParent: db.prepare<[number, string], { one: number }>(
        `SELECT 1 AS one FROM manifest_references r JOIN manifests p ON p.id = r.manifest_id
         WHERE p.repository_id = ? AND r.digest = ? AND r.kind = 'manifest' LIMIT 1`,
      ),
      manifestExists: db.prepare<[number, string], { one: number }>('SELECT 1 AS one FROM manifests WHERE repository_id = ? AND digest = ?'),
      deferManifest: db.prepare(`UPDATE gc_manifest_review SET review_after = ? WHERE repository_id = ${repoId} AND digest = ?`),
      dequeueManifest: db.prepare(`DELETE FROM gc_manifest_review WHERE repository_id = ${repoId} AND digest = ?`),
      deleteManifestById: db.prepare('DELETE FROM manifests WHERE id = ?'),
      deleteRepository: db.prepare('DELETE FROM repositories WHERE name = ?'),
      forgetManifestReviews: db.prepare('DELETE FROM gc_manifest_review WHERE repository_id = ?'),
      usageOf: db.prepare<[string], { name: string; blobs: number; bytes: number; manifests: number; tags: number }>(
        `SELECT r.name,
           r.blob_count AS blobs, r.blob_bytes AS bytes,
           (SELECT count(*) FROM manifests m WHERE m.repository_id = r.id) AS manifests,
           (SELECT count(*) FROM tags t WHERE t.repository_id = r.id) AS tags
         FROM repositories r WHERE r.name = ?`,
      ),
      tagDetails: db.prepare<[string], { name: string; digest: string; updated_at: number; last_pulled_at: number | null }>(
        `SELECT name, manifest_digest AS digest, updated_at, last_pulled_at FROM tags WHERE repository_id = ${repoId} ORDER BY updated_at DESC, name`,
      ),
      untagged: db.prepare<[string, number, number], { digest: string }>(
        `SELECT m.digest FROM manifests m WHERE m.repository_id = ${repoId} AND m.created_at < ?
           AND NOT EXISTS (SELECT 1 FROM tags t WHERE t.repository_id = m.repository_id AND t.manifest_digest = m.digest)
         ORDER BY m.created_at LIMIT ?`,
      ),
      referencing: db.prepare<[string], { repository: string; digest: string }>(
        `SELECT r.name AS repository, m.digest FROM manifest_references x JOIN manifests m ON m.id = x.manifest_id
         JOIN repositories r ON r.id = m.repository_id WHERE x.digest = ? ORDER BY r.name, m.digest`,
      ),
      insertEvent: db.prepare<[string, string, number], { id: number }>(
        'INSERT INTO events (repository, payload, created_at) VALUES (?, ?, ?) RETURNING id',
      ),
      insertDelivery: db.prepare(
        "INSERT INTO deliveries (endpoint, event_id, repository, status, next_attempt_at) VALUES (?, ?, ?, 'pending', ?)",
      ),
      dueDeliveries: db.prepare<[string, number, number], DeliveryRow>(
        `SELECT d.event_id, d.endpoint, d.repository, e.payload, d.attempts, d.last_error, e.created_at
         FROM deliveries d JOIN events e ON e.id = d.event_id
         WHERE d.endpoint = ? AND d.status = 'pending' AND d.next_attempt_at <= ?
           AND d.event_id = (SELECT min(h.event_id) FROM deliveries h
                             WHERE h.endpoint = d.endpoint AND h.status = 'pending' AND h.repository = d.repository)
         ORDER BY d.event_id LIMIT ?`,
      ),
      deleteDelivery: db.prepare('DELETE FROM deliveries WHERE endpoint = ? AND event_id = ?'),
      deleteEventIfDone: db.prepare('DELETE FROM events WHERE id = ? AND NOT EXISTS (SELECT 1 FROM deliveries WHERE event_id = ?)'),
      failDelivery: db.prepare(
        'UPDATE deliveries SET attempts = attempts + 1, last_error = ?, next_attempt_at = ?, status = ? WHERE endpoint = ? AND event_id = ?',
      ),
      deliveryStats: db.prepare<[], { endpoint: string; pending: number; dead: number }>(
        `SELECT endpoint, sum(status = 'pending') AS pending, sum(status = 'dead') AS dead FROM deliveries GROUP BY endpoint ORDER BY endpoint`,
      ),
      deadDeliveries: db.prepare<[string | null, string | null, number], DeliveryRow>(
        `SELECT d.event_id, d.endpoint, d.repository, e.payload, d.attempts, d.last_error, e.created_at
         FROM deliveries d JOIN events e ON e.id = d.event_id
         WHERE d.status = 'dead' AND (? IS NULL OR d.endpoint = ?) ORDER BY d.event_id LIMIT ?`,
      ),
      requeueDead: db.prepare(
        "UPDATE deliveries SET status = 'pending', attempts = 0, next_attempt_at = ? WHERE status = 'dead' AND (? IS NULL OR endpoint = ?)",
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
    for (const event of events ?? []) {
      if (event.endpoints.length === 0) continue;
      const { id } = this.stmt.insertEvent.get(event.repository, event.payload, now)!;
      for (const endpoint of event.endpoints) this.stmt.insertDelivery.run(endpoint, id, event.repository, now);
    }
  }

  private ensureRepository(name: string, now: number): number {
    this.stmt.ensureRepo.run(name, now);
    return this.stmt.repoIdOf.get(name)!.id;
  }

  async close(): Promise<void> {
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

  async appendEvents(events: readonly OutboxEvent[]): Promise<void> {
    this.db.transaction(() => this.recordEvents(events, Date.now()))();
  }

  async dueDeliveries(endpoint: string, now: number, limit: number): Promise<Delivery[]> {
    return this.stmt.dueDeliveries.all(endpoint, now, limit).map(toDelivery);
  }

  async markDelivered(endpoint: string, eventId: number): Promise<void> {
    this.db.transaction(() => {
      this.stmt.deleteDelivery.run(endpoint, eventId);
      this.stmt.deleteEventIfDone.run(eventId, eventId);
    })();
  }

  async markFailed(endpoint: string, eventId: number, error: string, nextAttemptAt: number | null): Promise<void> {
    this.stmt.failDelivery.run(error.slice(0, 1000), nextAttemptAt ?? 0, nextAttemptAt === null ? 'dead' : 'pending', endpoint, eventId);
  }

  async deliveryStats(): Promise<DeliveryStats[]> {
    return this.stmt.deliveryStats.all();
  }

  async listDeadDeliveries(endpoint: string | null, limit: number): Promise<Delivery[]> {
    return this.stmt.deadDeliveries.all(endpoint, endpoint, limit).map(toDelivery);
  }

  async requeueDead(endpoint: string | null): Promise<number> {
    return this.stmt.requeueDead.run(Date.now(), endpoint, endpoint).changes;
  }

  async acquireBlobLease(digest: string, owner: string, ttlMs: number): Promise<boolean> {
    const now = Date.now();
    return this.stmt.acquireLease.run(digest, owner, now + ttlMs, now).changes > 0;
  }

  async releaseBlobLease(digest: string, owner: string): Promise<void> {
    this.stmt.releaseLease.run(digest, owner);
  }

  async dueBlobReviews(now: number, after: string, limit: number): Promise<string[]> {
    return this.stmt.dueBlobs.all(now, after, limit).map((r) => r.digest);
  }

  async dueManifestReviews(now: number, after: ManifestReview | null, limit: number): Promise<ManifestReview[]> {
    return this.stmt.dueManifests.all(now, after?.repository ?? '', after?.repository ?? '', after?.digest ?? '', limit);
  }

  async collectBlob(digest: string, cutoff: number, graceMs: number, dryRun: boolean): Promise<GcDecision> {
    return this.db.transaction((): GcDecision => {
      const blob = this.stmt.getBlob.get(digest);
      if (!blob) {
        if (!dryRun) this.stmt.dequeueBlob.run(digest);
        return { outcome: 'gone', size: 0 };
      }
      if (this.stmt.blobReferenced.get(digest)) {
        // The bytes stay, but a repository none of whose manifests uses the blob no longer holds it: its link
        // goes, or its usage (and quota) would count a blob it cannot reach.
        if (!dryRun) this.dropUnusedLinks(digest, cutoff, graceMs);
        return { outcome: 'kept', size: blob.size };
      }
      const youngest = Math.max(blob.created_at, this.stmt.newestLink.get(digest)?.newest ?? 0);
      if (youngest > cutoff) {
        if (!dryRun) this.stmt.deferBlob.run(youngest + graceMs, digest);
        return { outcome: 'deferred', size: blob.size };
      }
      if (dryRun) return { outcome: 'would-delete', size: blob.size };
      this.stmt.unlinkAll.run(digest);
      this.stmt.deleteBlob.run(digest);
      this.stmt.dequeueBlob.run(digest);
      this.stmt.addPendingDeletion.run(digest);
      return { outcome: 'deleted', size: blob.size };
    })();
  }

  private dropUnusedLinks(digest: string, cutoff: number, graceMs: number): void {
    let youngest = 0;
    for (const link of this.stmt.unusedLinks.all(digest)) {
      if (link.created_at > cutoff) youngest = Math.max(youngest, link.created_at);
      else this.stmt.unlinkFrom.run(link.repository_id, digest);
    }
    if (youngest > 0) this.stmt.deferBlob.run(youngest + graceMs, digest);
    else this.stmt.dequeueBlob.run(digest);
  }

  async pendingBlobDeletions(limit: number): Promise<string[]> {
    return this.stmt.pendingDeletions.all(limit).map((r) => r.digest);
  }

  async clearPendingDeletion(digest: string): Promise<void> {
    this.stmt.clearPendingDeletion.run(digest);
  }

  async collectManifest(review: ManifestReview, cutoff: number, graceMs: number, dryRun: boolean): Promise<GcDecision> {
    const { repository, digest } = review;
    return this.db.transaction((): GcDecision => {
      const m = this.stmt.reviewedManifest.get(repository, digest);
      const done = (outcome: GcDecision['outcome'], size: number): GcDecision => {
        if (!dryRun) this.stmt.dequeueManifest.run(repository, digest);
        return { outcome, size };
      };
      if (!m) return done('gone', 0);
      if (this.stmt.manifestTagged.get(m.repository_id, digest)) return done('kept', m.size);
      if (this.stmt.manifestHasParent.get(m.repository_id, digest)) return done('kept', m.size);
      if (m.subject && this.stmt.manifestExists.get(m.repository_id, m.subject)) return done('kept', m.size);
      if (m.created_at > cutoff) {
        if (!dryRun) this.stmt.deferManifest.run(m.created_at + graceMs, repository, digest);
        return { outcome: 'deferred', size: m.size };
      }
      if (dryRun) return { outcome: 'would-delete', size: m.size };
      // Cascades to its references; the triggers queue the blobs, children and referrers it kept alive.
      this.stmt.deleteManifestById.run(m.id);
      return done('deleted', m.size);
    })();
  }

  async deleteRepository(repository: string, events?: readonly OutboxEvent[]): Promise<boolean> {
    return this.db.transaction(() => {
      const repo = this.stmt.repoIdOf.get(repository);
      if (!repo) return false;
      this.stmt.deleteRepository.run(repository);
      // The cascade queued its manifests for review; with the repository gone there is nothing left to review.
      this.stmt.forgetManifestReviews.run(repo.id);
      this.recordEvents(events, Date.now());
      return true;
    })();
  }

  async repositoryUsage(repository: string): Promise<RepositoryUsage | null> {
    return this.stmt.usageOf.get(repository) ?? null;
  }

  async listRepositoryUsage(page: Page): Promise<RepositoryUsage[]> {
    const names = await this.listRepositories(page);
    return names.map((name) => this.stmt.usageOf.get(name)!).filter(Boolean);
  }

  async listTagDetails(repository: string): Promise<TagDetail[]> {
    return this.stmt.tagDetails.all(repository).map((t) => ({ name: t.name, digest: t.digest, updatedAt: t.updated_at, lastPulledAt: t.last_pulled_at }));
  }

  async untaggedManifests(repository: string, createdBefore: number, limit: number): Promise<string[]> {
    return this.stmt.untagged.all(repository, createdBefore, limit).map((r) => r.digest);
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
