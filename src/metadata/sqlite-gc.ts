import type Database from 'better-sqlite3';
import type { GcDecision, GcPass, GcStore, GcTotals, ManifestReview } from './store.js';
import { backgroundBatch, yieldToEventLoop } from './yield.js';

/**
 * Online GC and the removal of deleted repositories, in SQLite. Every decision is re-checked inside the
 * transaction that acts on it; every job that touches an unbounded number of rows does it in transactions of at
 * most `backgroundBatch` rows with the event loop free in between.
 */
export class SqliteGc implements Omit<GcStore, 'getBlob'> {
  private readonly stmt;

  constructor(private readonly db: Database.Database) {
    const repoId = '(SELECT id FROM repositories WHERE name = ?)';
    this.stmt = {
      getBlob: db.prepare<[string], { size: number; created_at: number }>('SELECT size, created_at FROM blobs WHERE digest = ?'),
      acquireLease: db.prepare(
        `INSERT INTO blob_leases (digest, owner, expires_at) VALUES (?, ?, ?)
         ON CONFLICT (digest) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at WHERE blob_leases.expires_at < ?`,
      ),
      releaseLease: db.prepare('DELETE FROM blob_leases WHERE digest = ? AND owner = ?'),
      dueBlobs: db.prepare<[number, string, number], { digest: string }>(
        'SELECT digest FROM gc_blob_review WHERE review_after <= ? AND digest > ? ORDER BY digest LIMIT ?',
      ),
      // CROSS JOIN keeps repositories (by its unique name index) outside, so rows come in the wanted order off two
      // indexes and a page stops after `limit` rows; the other join order sorts the whole due queue for each page.
      dueManifests: db.prepare<[string, string, string, number, number], { repository: string; digest: string }>(
        `SELECT r.name AS repository, q.digest FROM repositories r CROSS JOIN gc_manifest_review q ON q.repository_id = r.id
         WHERE r.name >= ? AND (r.name > ? OR q.digest > ?) AND q.review_after <= ? ORDER BY r.name, q.digest LIMIT ?`,
      ),
      blobReferenced: db.prepare<[string], { one: number }>("SELECT 1 AS one FROM manifest_references WHERE digest = ? AND kind = 'blob' LIMIT 1"),
      newestLink: db.prepare<[string], { newest: number | null }>('SELECT max(created_at) AS newest FROM repository_blobs WHERE digest = ?'),
      deferBlob: db.prepare('UPDATE gc_blob_review SET review_after = ? WHERE digest = ?'),
      dequeueBlob: db.prepare('DELETE FROM gc_blob_review WHERE digest = ?'),
      unlinkAll: db.prepare('DELETE FROM repository_blobs WHERE digest = ?'),
      // CROSS JOIN here and in manifestHasParent: from the references to this digest, then their manifests. The
      // planner's own order walks every manifest of the repository per call, which made a pass quadratic.
      unusedLinks: db.prepare<[string], { repository_id: number; created_at: number }>(
        `SELECT rb.repository_id, rb.created_at FROM repository_blobs rb WHERE rb.digest = ? AND NOT EXISTS (
           SELECT 1 FROM manifest_references x CROSS JOIN manifests m ON m.id = x.manifest_id
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
        `SELECT 1 AS one FROM manifest_references r CROSS JOIN manifests p ON p.id = r.manifest_id
         WHERE p.repository_id = ? AND r.digest = ? AND r.kind = 'manifest' LIMIT 1`,
      ),
      manifestExists: db.prepare<[number, string], { one: number }>('SELECT 1 AS one FROM manifests WHERE repository_id = ? AND digest = ?'),
      deferManifest: db.prepare(`UPDATE gc_manifest_review SET review_after = ? WHERE repository_id = ${repoId} AND digest = ?`),
      dequeueManifest: db.prepare(`DELETE FROM gc_manifest_review WHERE repository_id = ${repoId} AND digest = ?`),
      deleteManifestById: db.prepare('DELETE FROM manifests WHERE id = ?'),
      deletedRepositories: db.prepare<[], { id: number }>('SELECT id FROM repositories WHERE deleted = 1'),
      // The contents of a deleted repository, a batch at a time: tags first (they keep manifests), then manifests
      // (their references cascade), then blob links; the triggers queue what each removal may have made garbage.
      purgeTags: db.prepare(
        'DELETE FROM tags WHERE repository_id = ? AND name IN (SELECT name FROM tags WHERE repository_id = ? LIMIT ?)',
      ),
      purgeManifests: db.prepare('DELETE FROM manifests WHERE id IN (SELECT id FROM manifests WHERE repository_id = ? LIMIT ?)'),
      purgeLinks: db.prepare(
        'DELETE FROM repository_blobs WHERE repository_id = ? AND digest IN (SELECT digest FROM repository_blobs WHERE repository_id = ? LIMIT ?)',
      ),
      // With the repository gone there is nothing left to review in it.
      forgetManifestReviews: db.prepare('DELETE FROM gc_manifest_review WHERE repository_id = ?'),
      dropRepository: db.prepare('DELETE FROM repositories WHERE id = ? AND deleted = 1'),
      recordPass: db.prepare(
        `UPDATE gc_totals SET runs = runs + 1, freed_bytes = freed_bytes + @freedBytes, deleted_blobs = deleted_blobs + @deletedBlobs,
           deleted_manifests = deleted_manifests + @deletedManifests, last_finished_at = @finishedAt, last_freed_bytes = @freedBytes,
           last_deleted_blobs = @deletedBlobs, last_deleted_manifests = @deletedManifests, last_duration_ms = @durationMs,
           last_trigger = @trigger`,
      ),
      totals: db.prepare<[], GcTotals>(
        `SELECT runs, freed_bytes AS freedBytes, deleted_blobs AS deletedBlobs, deleted_manifests AS deletedManifests,
           last_finished_at AS lastFinishedAt, last_freed_bytes AS lastFreedBytes, last_deleted_blobs AS lastDeletedBlobs,
           last_deleted_manifests AS lastDeletedManifests, last_duration_ms AS lastDurationMs, last_trigger AS lastTrigger
           FROM gc_totals`,
      ),
    };
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
    const repository = after?.repository ?? '';
    return this.stmt.dueManifests.all(repository, repository, after?.digest ?? '', now, limit);
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

  async clearPendingDeletion(digest: string): Promise<boolean> {
    return this.stmt.clearPendingDeletion.run(digest).changes > 0;
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

  /** Removes what a deleted (renamed, hidden) repository still holds, in bounded transactions, then its row. */
  async purgeRepository(id: number): Promise<void> {
    const batches = [
      () => this.stmt.purgeTags.run(id, id, backgroundBatch).changes,
      () => this.stmt.purgeManifests.run(id, backgroundBatch).changes,
      () => this.stmt.purgeLinks.run(id, id, backgroundBatch).changes,
    ];
    for (const batch of batches) {
      while (this.db.transaction(batch)() > 0) await yieldToEventLoop();
    }
    this.db.transaction(() => {
      this.stmt.forgetManifestReviews.run(id);
      this.stmt.dropRepository.run(id);
    })();
  }

  async purgeDeletedRepositories(): Promise<number> {
    const ids = this.stmt.deletedRepositories.all();
    for (const { id } of ids) await this.purgeRepository(id);
    return ids.length;
  }

  async recordGcPass(pass: GcPass): Promise<void> {
    this.stmt.recordPass.run({ ...pass, durationMs: Math.round(pass.durationMs) });
  }

  async gcTotals(): Promise<GcTotals> {
    return this.stmt.totals.get()!;
  }
}
