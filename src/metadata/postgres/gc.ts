import type { GcDecision, GcPass, GcStore, GcTotals, ManifestReview } from '../store.js';
import { backgroundBatch } from '../yield.js';
import { run, statements, type Db } from './db.js';

const repoId = '(SELECT id FROM repositories WHERE name = $1)';
/** The database's clock in milliseconds: leases compare times written by different nodes, whose clocks drift. */
const dbNow = '(extract(epoch FROM clock_timestamp()) * 1000)::bigint';
/** pg_try_advisory_lock namespace of repository purges ("purg"); the second key is the repository id. */
const purgeLockSpace = 0x70757267;

const sql = statements('gc', {
  acquireLease: `INSERT INTO blob_leases (digest, owner, expires_at) VALUES ($1, $2, ${dbNow} + $3)
    ON CONFLICT (digest) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at WHERE blob_leases.expires_at < ${dbNow}`,
  releaseLease: 'DELETE FROM blob_leases WHERE digest = $1 AND owner = $2',
  dueBlobs: 'SELECT digest FROM gc_blob_review WHERE review_after <= $1 AND digest > $2 ORDER BY digest LIMIT $3',
  dueManifests: `SELECT r.name AS repository, q.digest FROM repositories r JOIN gc_manifest_review q ON q.repository_id = r.id
    WHERE r.name >= $1 AND (r.name > $1 OR q.digest > $2) AND q.review_after <= $3 ORDER BY r.name, q.digest LIMIT $4`,
  // The claim: GC decides about a blob only while it holds the row, and skips one another transaction holds (a
  // push referencing it, or GC on another node): it stays queued for the next pass.
  claimBlob: 'SELECT size, created_at FROM blobs WHERE digest = $1 FOR UPDATE SKIP LOCKED',
  blobSize: 'SELECT size FROM blobs WHERE digest = $1',
  blobReferenced: "SELECT 1 AS one FROM manifest_references WHERE digest = $1 AND kind = 'blob' LIMIT 1",
  newestLink: 'SELECT max(created_at) AS newest FROM repository_blobs WHERE digest = $1',
  deferBlob: 'UPDATE gc_blob_review SET review_after = $1 WHERE digest = $2',
  dequeueBlob: 'DELETE FROM gc_blob_review WHERE digest = $1',
  unlinkAll: 'DELETE FROM repository_blobs WHERE digest = $1',
  unusedLinks: `SELECT rb.repository_id, rb.created_at FROM repository_blobs rb WHERE rb.digest = $1 AND NOT EXISTS (
      SELECT 1 FROM manifest_references x JOIN manifests m ON m.id = x.manifest_id
      WHERE x.digest = rb.digest AND x.kind = 'blob' AND m.repository_id = rb.repository_id)`,
  unlinkFrom: 'DELETE FROM repository_blobs WHERE repository_id = $1 AND digest = $2',
  deleteBlob: 'DELETE FROM blobs WHERE digest = $1',
  addPendingDeletion: 'INSERT INTO gc_pending_deletions (digest) VALUES ($1) ON CONFLICT DO NOTHING',
  pendingDeletions: 'SELECT digest FROM gc_pending_deletions LIMIT $1',
  clearPendingDeletion: 'DELETE FROM gc_pending_deletions WHERE digest = $1',
  claimManifest: `SELECT m.id, m.repository_id, m.size, m.subject, m.created_at FROM manifests m
    WHERE m.repository_id = ${repoId} AND m.digest = $2 FOR UPDATE SKIP LOCKED`,
  manifestSize: `SELECT size FROM manifests WHERE repository_id = ${repoId} AND digest = $2`,
  manifestTagged: 'SELECT 1 AS one FROM tags WHERE repository_id = $1 AND manifest_digest = $2 LIMIT 1',
  manifestHasParent: `SELECT 1 AS one FROM manifest_references r JOIN manifests p ON p.id = r.manifest_id
    WHERE p.repository_id = $1 AND r.digest = $2 AND r.kind = 'manifest' LIMIT 1`,
  manifestExists: 'SELECT 1 AS one FROM manifests WHERE repository_id = $1 AND digest = $2',
  deferManifest: `UPDATE gc_manifest_review SET review_after = $3 WHERE repository_id = ${repoId} AND digest = $2`,
  dequeueManifest: `DELETE FROM gc_manifest_review WHERE repository_id = ${repoId} AND digest = $2`,
  deleteManifestById: 'DELETE FROM manifests WHERE id = $1',
  deletedRepositories: 'SELECT id FROM repositories WHERE deleted ORDER BY id',
  tryPurgeLock: `SELECT pg_try_advisory_lock(${purgeLockSpace}, $1::integer) AS locked`,
  purgeUnlock: `SELECT pg_advisory_unlock(${purgeLockSpace}, $1::integer)`,
  // A deleted repository's contents, a batch per transaction: tags first (they keep manifests), then manifests
  // (their references cascade), then blob links; the triggers queue what each removal may have made garbage.
  purgeTags: 'DELETE FROM tags WHERE repository_id = $1 AND name IN (SELECT name FROM tags WHERE repository_id = $1 LIMIT $2)',
  purgeManifests: 'DELETE FROM manifests WHERE id IN (SELECT id FROM manifests WHERE repository_id = $1 LIMIT $2)',
  purgeLinks: `DELETE FROM repository_blobs WHERE repository_id = $1
    AND digest IN (SELECT digest FROM repository_blobs WHERE repository_id = $1 LIMIT $2)`,
  forgetManifestReviews: 'DELETE FROM gc_manifest_review WHERE repository_id = $1',
  dropRepository: 'DELETE FROM repositories WHERE id = $1 AND deleted',
  recordPass: `UPDATE gc_totals SET runs = runs + 1, freed_bytes = freed_bytes + $1, deleted_blobs = deleted_blobs + $2,
    deleted_manifests = deleted_manifests + $3, last_finished_at = $4, last_freed_bytes = $1,
    last_deleted_blobs = $2, last_deleted_manifests = $3, last_duration_ms = $5, last_trigger = $6`,
  totals: `SELECT runs, freed_bytes AS "freedBytes", deleted_blobs AS "deletedBlobs", deleted_manifests AS "deletedManifests",
    last_finished_at AS "lastFinishedAt", last_freed_bytes AS "lastFreedBytes", last_deleted_blobs AS "lastDeletedBlobs",
    last_deleted_manifests AS "lastDeletedManifests", last_duration_ms AS "lastDurationMs", last_trigger AS "lastTrigger" FROM gc_totals`,
});

/**
 * Online GC and the removal of deleted repositories, in PostgreSQL. Every decision is re-checked inside the
 * transaction that acts on it, on a row it holds; unbounded work goes in transactions of `backgroundBatch` rows.
 */
export class PostgresGc implements Omit<GcStore, 'getBlob'> {
  constructor(private readonly db: Db) {}

  async acquireBlobLease(digest: string, owner: string, ttlMs: number): Promise<boolean> {
    return ((await this.db.query(sql.acquireLease, [digest, owner, ttlMs])).rowCount ?? 0) > 0;
  }

  async releaseBlobLease(digest: string, owner: string): Promise<void> {
    await this.db.query(sql.releaseLease, [digest, owner]);
  }

  async dueBlobReviews(now: number, after: string, limit: number): Promise<string[]> {
    return (await this.db.rows<{ digest: string }>(sql.dueBlobs, [now, after, limit])).map((r) => r.digest);
  }

  async dueManifestReviews(now: number, after: ManifestReview | null, limit: number): Promise<ManifestReview[]> {
    return this.db.rows<{ repository: string; digest: string }>(sql.dueManifests, [after?.repository ?? '', after?.digest ?? '', now, limit]);
  }

  collectBlob(digest: string, cutoff: number, graceMs: number, dryRun: boolean): Promise<GcDecision> {
    return this.db.tx(async (client): Promise<GcDecision> => {
      const [blob] = (await run<{ size: number; created_at: number }>(client, sql.claimBlob, [digest])).rows;
      if (!blob) {
        const [held] = (await run<{ size: number }>(client, sql.blobSize, [digest])).rows;
        if (held) return { outcome: 'deferred', size: held.size };
        if (!dryRun) await run(client, sql.dequeueBlob, [digest]);
        return { outcome: 'gone', size: 0 };
      }
      if ((await run(client, sql.blobReferenced, [digest])).rowCount) {
        // The bytes stay, but a repository none of whose manifests uses the blob no longer holds it: its link
        // goes, or its usage (and quota) would count a blob it cannot reach.
        if (!dryRun) await this.dropUnusedLinks(client, digest, cutoff, graceMs);
        return { outcome: 'kept', size: blob.size };
      }
      const newest = (await run<{ newest: number | null }>(client, sql.newestLink, [digest])).rows[0]?.newest ?? 0;
      const youngest = Math.max(blob.created_at, newest);
      if (youngest > cutoff) {
        if (!dryRun) await run(client, sql.deferBlob, [youngest + graceMs, digest]);
        return { outcome: 'deferred', size: blob.size };
      }
      if (dryRun) return { outcome: 'would-delete', size: blob.size };
      await run(client, sql.unlinkAll, [digest]);
      await run(client, sql.deleteBlob, [digest]);
      await run(client, sql.dequeueBlob, [digest]);
      await run(client, sql.addPendingDeletion, [digest]);
      return { outcome: 'deleted', size: blob.size };
    });
  }

  private async dropUnusedLinks(client: Parameters<typeof run>[0], digest: string, cutoff: number, graceMs: number): Promise<void> {
    let youngest = 0;
    const links = (await run<{ repository_id: number; created_at: number }>(client, sql.unusedLinks, [digest])).rows;
    for (const link of links) {
      if (link.created_at > cutoff) youngest = Math.max(youngest, link.created_at);
      else await run(client, sql.unlinkFrom, [link.repository_id, digest]);
    }
    if (youngest > 0) await run(client, sql.deferBlob, [youngest + graceMs, digest]);
    else await run(client, sql.dequeueBlob, [digest]);
  }

  async pendingBlobDeletions(limit: number): Promise<string[]> {
    return (await this.db.rows<{ digest: string }>(sql.pendingDeletions, [limit])).map((r) => r.digest);
  }

  async clearPendingDeletion(digest: string): Promise<boolean> {
    return ((await this.db.query(sql.clearPendingDeletion, [digest])).rowCount ?? 0) > 0;
  }

  collectManifest(review: ManifestReview, cutoff: number, graceMs: number, dryRun: boolean): Promise<GcDecision> {
    const { repository, digest } = review;
    return this.db.tx(async (client): Promise<GcDecision> => {
      const done = async (outcome: GcDecision['outcome'], size: number): Promise<GcDecision> => {
        if (!dryRun) await run(client, sql.dequeueManifest, [repository, digest]);
        return { outcome, size };
      };
      const [m] = (await run<{ id: number; repository_id: number; size: number; subject: string | null; created_at: number }>(client, sql.claimManifest, [
        repository,
        digest,
      ])).rows;
      if (!m) {
        const [held] = (await run<{ size: number }>(client, sql.manifestSize, [repository, digest])).rows;
        return held ? { outcome: 'deferred', size: held.size } : done('gone', 0);
      }
      if ((await run(client, sql.manifestTagged, [m.repository_id, digest])).rowCount) return done('kept', m.size);
      if ((await run(client, sql.manifestHasParent, [m.repository_id, digest])).rowCount) return done('kept', m.size);
      if (m.subject && (await run(client, sql.manifestExists, [m.repository_id, m.subject])).rowCount) return done('kept', m.size);
      if (m.created_at > cutoff) {
        if (!dryRun) await run(client, sql.deferManifest, [repository, digest, m.created_at + graceMs]);
        return { outcome: 'deferred', size: m.size };
      }
      if (dryRun) return { outcome: 'would-delete', size: m.size };
      // Cascades to its references; the triggers queue the blobs, children and referrers it kept alive.
      await run(client, sql.deleteManifestById, [m.id]);
      return done('deleted', m.size);
    });
  }

  /**
   * Removes what a deleted (renamed, hidden) repository still holds, in bounded transactions, then its row. One
   * node at a time per repository (a session advisory lock); another finding it taken leaves the work to it.
   */
  async purgeRepository(id: number): Promise<void> {
    await this.db.withClient(async (client) => {
      if (!(await run<{ locked: boolean }>(client, sql.tryPurgeLock, [id])).rows[0]!.locked) return;
      for (const batch of [sql.purgeTags, sql.purgeManifests, sql.purgeLinks]) {
        while (((await run(client, batch, [id, backgroundBatch])).rowCount ?? 0) > 0);
      }
      await client.query('BEGIN');
      await run(client, sql.forgetManifestReviews, [id]);
      await run(client, sql.dropRepository, [id]);
      await client.query('COMMIT');
      await run(client, sql.purgeUnlock, [id]);
    });
  }

  async purgeDeletedRepositories(): Promise<number> {
    const ids = await this.db.rows<{ id: number }>(sql.deletedRepositories);
    for (const { id } of ids) await this.purgeRepository(id);
    return ids.length;
  }

  async recordGcPass(pass: GcPass): Promise<void> {
    const { freedBytes, deletedBlobs, deletedManifests, finishedAt, durationMs, trigger } = pass;
    await this.db.query(sql.recordPass, [freedBytes, deletedBlobs, deletedManifests, finishedAt, Math.round(durationMs), trigger]);
  }

  async gcTotals(): Promise<GcTotals> {
    return (await this.db.rows<GcTotals>(sql.totals))[0]!;
  }
}
