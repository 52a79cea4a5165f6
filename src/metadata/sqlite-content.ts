// The prepared statements behind the SQLite store's content, tag, listing and usage methods, in one place so the
// store class reads as the contract it implements. Each is an indexed lookup or a small write.
import type Database from 'better-sqlite3';
import type { RepositoryUsage, StoreStats } from './store.js';
import type { ManifestRow, ReferrerRow } from './rows.js';

export function prepareContentStatements(db: Database.Database) {
  const repoId = '(SELECT id FROM repositories WHERE name = ?)';
  const usage = 'SELECT name, blob_count AS blobs, blob_bytes AS bytes, manifest_count AS manifests, tag_count AS tags FROM repositories';
  return {
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
    // Changes by this connection (total_changes counts every row a statement or trigger touched, committed or not)
    // and commits by any other connection (data_version): no table is read.
    contentVersion: db.prepare<[], [number, number]>('SELECT total_changes(), data_version FROM pragma_data_version').raw(),
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

export type ContentStatements = ReturnType<typeof prepareContentStatements>;
