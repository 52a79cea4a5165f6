// The statements behind the PostgreSQL store's content, tag, listing and usage methods.
//
// Locks, where SQLite's single writer made them unnecessary: a write that makes something use a blob, a manifest
// or a repository takes FOR KEY SHARE on that row, and GC (FOR UPDATE) and repository deletion (renaming the row
// is a key update) take the conflicting lock before they decide. So a decision never rests on a row another
// transaction is about to reference: one of the two waits for the other, then sees what it committed.
import { statements } from './db.js';

const repoId = '(SELECT id FROM repositories WHERE name = $1 AND NOT deleted)';
const usage = 'SELECT name, blob_count AS blobs, blob_bytes AS bytes, manifest_count AS manifests, tag_count AS tags FROM repositories';

export const contentSql = statements('content', {
  lockRepo: 'SELECT id FROM repositories WHERE name = $1 AND NOT deleted FOR KEY SHARE',
  insertRepo: 'INSERT INTO repositories (name, created_at) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING RETURNING id',
  getBlob: 'SELECT digest, size, created_at FROM blobs WHERE digest = $1',
  getRepoBlob: `SELECT b.digest, b.size, b.created_at FROM repository_blobs rb JOIN blobs b ON b.digest = rb.digest
    WHERE rb.repository_id = ${repoId} AND rb.digest = $2`,
  insertBlob: 'INSERT INTO blobs (digest, size, created_at) VALUES ($1, $2, $3) ON CONFLICT (digest) DO NOTHING RETURNING digest',
  lockBlob: 'SELECT digest FROM blobs WHERE digest = $1 FOR KEY SHARE',
  linkBlob: 'INSERT INTO repository_blobs (repository_id, digest, created_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING',
  unlinkBlob: `DELETE FROM repository_blobs WHERE repository_id = ${repoId} AND digest = $2`,
  deleteUpload: 'DELETE FROM uploads WHERE id = $1',
  // Only the blobs are held: GC locks a blob before its links, and holding a link here too would close a cycle.
  lockLinkedBlobs: `SELECT rb.digest FROM repository_blobs rb JOIN blobs b ON b.digest = rb.digest
    WHERE rb.repository_id = $1 AND rb.digest = ANY($2::text[]) FOR KEY SHARE OF b`,
  lockManifests: 'SELECT digest FROM manifests WHERE repository_id = $1 AND digest = ANY($2::text[]) FOR KEY SHARE',
  insertManifest: `INSERT INTO manifests (repository_id, digest, media_type, artifact_type, subject, annotations, size, body, created_at)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (repository_id, digest) DO NOTHING RETURNING id`,
  lockManifest: 'SELECT id FROM manifests WHERE repository_id = $1 AND digest = $2 FOR KEY SHARE',
  insertReferences: `INSERT INTO manifest_references (manifest_id, digest, kind)
    SELECT $1, x.digest, x.kind FROM unnest($2::text[], $3::text[]) AS x(digest, kind) ON CONFLICT DO NOTHING`,
  upsertTags: `INSERT INTO tags (repository_id, name, manifest_digest, updated_at) SELECT $1, unnest($2::text[]), $3, $4
    ON CONFLICT (repository_id, name) DO UPDATE SET manifest_digest = excluded.manifest_digest, updated_at = excluded.updated_at`,
  manifestByDigest: `SELECT digest, media_type, size, body, artifact_type, subject, created_at FROM manifests
    WHERE repository_id = ${repoId} AND digest = $2`,
  manifestByTag: `SELECT m.digest, m.media_type, m.size, m.body, m.artifact_type, m.subject, m.created_at
    FROM tags t JOIN manifests m ON m.repository_id = t.repository_id AND m.digest = t.manifest_digest
    WHERE t.repository_id = ${repoId} AND t.name = $2`,
  deleteTagsOf: `DELETE FROM tags WHERE repository_id = ${repoId} AND manifest_digest = $2`,
  deleteManifest: `DELETE FROM manifests WHERE repository_id = ${repoId} AND digest = $2`,
  deleteTag: `DELETE FROM tags WHERE repository_id = ${repoId} AND name = $2`,
  // One round trip: no row when the repository does not exist, one row with a null name when it has no tags.
  listTags: `SELECT t.name FROM repositories r LEFT JOIN LATERAL (
      SELECT name FROM tags WHERE repository_id = r.id AND name > $2 ORDER BY name LIMIT $3) t ON true
    WHERE r.name = $1 AND NOT r.deleted`,
  listRepos: 'SELECT name FROM repositories WHERE name > $1 AND NOT deleted ORDER BY name LIMIT $2',
  referrers: `SELECT digest, media_type, size, artifact_type, annotations FROM manifests
    WHERE repository_id = ${repoId} AND subject = $2 AND ($3::text IS NULL OR artifact_type = $3) ORDER BY digest`,
  // The latest pull of each row wins; rows that are gone are skipped by the join.
  pullManifests: `UPDATE manifests m SET last_pulled_at = x.at FROM (
      SELECT r.id AS repository_id, p.digest, max(p.at) AS at
      FROM unnest($1::text[], $2::text[], $3::bigint[]) AS p(repository, digest, at)
      JOIN repositories r ON r.name = p.repository AND NOT r.deleted GROUP BY r.id, p.digest) x
    WHERE m.repository_id = x.repository_id AND m.digest = x.digest`,
  pullTags: `UPDATE tags t SET last_pulled_at = x.at FROM (
      SELECT r.id AS repository_id, p.tag, max(p.at) AS at
      FROM unnest($1::text[], $2::text[], $3::bigint[]) AS p(repository, tag, at)
      JOIN repositories r ON r.name = p.repository AND NOT r.deleted GROUP BY r.id, p.tag) x
    WHERE t.repository_id = x.repository_id AND t.name = x.tag`,
  stats: `SELECT sum(repositories)::bigint AS repositories, sum(manifests)::bigint AS manifests, sum(blobs)::bigint AS blobs,
    sum(blob_bytes)::bigint AS "blobBytes" FROM store_totals`,
  listBlobs: 'SELECT digest, size, created_at FROM blobs WHERE digest > $1 ORDER BY digest LIMIT $2',
  lockBlobForRemoval: 'SELECT digest FROM blobs WHERE digest = $1 FOR UPDATE',
  unlinkAll: 'DELETE FROM repository_blobs WHERE digest = $1',
  deleteBlob: 'DELETE FROM blobs WHERE digest = $1',
  usageOf: `${usage} WHERE name = $1 AND NOT deleted`,
  listUsage: `${usage} WHERE name > $1 AND NOT deleted ORDER BY name LIMIT $2`,
  // Renamed out of the namespace (no valid repository name starts with '#') so the name is free at once.
  markDeleted: "UPDATE repositories SET deleted = true, name = '#deleted/' || id WHERE name = $1 AND NOT deleted RETURNING id",
  tagDetails: `SELECT name, manifest_digest AS digest, updated_at, last_pulled_at FROM tags
    WHERE repository_id = ${repoId} ORDER BY updated_at DESC, name`,
  untagged: `SELECT m.digest FROM manifests m WHERE m.repository_id = ${repoId} AND m.digest > $2 AND m.created_at < $3
      AND NOT EXISTS (SELECT 1 FROM tags t WHERE t.repository_id = m.repository_id AND t.manifest_digest = m.digest)
    ORDER BY m.digest LIMIT $4`,
  referencing: `SELECT r.name AS repository, m.digest FROM manifest_references x JOIN manifests m ON m.id = x.manifest_id
    JOIN repositories r ON r.id = m.repository_id WHERE x.digest = $1 ORDER BY r.name, m.digest`,
});

export interface BlobRow {
  digest: string;
  size: number;
  created_at: number;
}
