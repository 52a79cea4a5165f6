// The fast path of the PostgreSQL import: the records that make up nearly all of an export (repositories, blobs,
// links, manifests, tags) go in a few hundred per statement instead of one round trip each. A batch either goes
// in whole, or reports that it did not (a reference to something the export lacks, a duplicate): the caller then
// rolls it back and inserts its records one by one, which finds the record at fault and names its line.
import type pg from 'pg';
import type { ExportRecord } from '../export-format.js';
import { run, statements } from './db.js';

export type BatchType = 'repository' | 'blob' | 'link' | 'manifest' | 'tag';
export type BatchRecord = Extract<ExportRecord, { type: BatchType }>;

export const batchTypes: ReadonlySet<string> = new Set<BatchType>(['repository', 'blob', 'link', 'manifest', 'tag']);
export const batchRecords = 500;
/** Manifest bodies held for one statement at most (bytes; a larger single body goes alone). */
export const batchBodyBytes = 4 << 20;

const sql = statements('import_batch', {
  repositories: `INSERT INTO repositories (name, created_at) SELECT * FROM unnest($1::text[], $2::bigint[]) RETURNING id, name`,
  blobs: 'INSERT INTO blobs (digest, size, created_at) SELECT * FROM unnest($1::text[], $2::bigint[], $3::bigint[])',
  // Joins drop what the export does not hold (an unknown repository or blob): the row count then falls short.
  links: `INSERT INTO repository_blobs (repository_id, digest, created_at)
    SELECT r.id, x.digest, x.created_at FROM unnest($1::text[], $2::text[], $3::bigint[]) AS x(repo, digest, created_at)
    JOIN repositories r ON r.name = x.repo JOIN blobs b ON b.digest = x.digest`,
  manifests: `INSERT INTO manifests (repository_id, digest, media_type, artifact_type, subject, annotations, size, body, created_at, last_pulled_at)
    SELECT r.id, x.digest, x.media_type, x.artifact_type, x.subject, x.annotations, octet_length(x.body), x.body, x.created_at, x.last_pulled_at
    FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::bytea[], $8::bigint[], $9::bigint[])
      AS x(repo, digest, media_type, artifact_type, subject, annotations, body, created_at, last_pulled_at)
    JOIN repositories r ON r.name = x.repo
    RETURNING id, repository_id, digest`,
  // A digest listed twice (or as both a blob and a child) is one reference, as when it was pushed.
  references: `INSERT INTO manifest_references (manifest_id, digest, kind)
    SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[]) ON CONFLICT DO NOTHING`,
  tags: `INSERT INTO tags (repository_id, name, manifest_digest, updated_at, last_pulled_at)
    SELECT r.id, x.name, x.digest, x.updated_at, x.last_pulled_at
    FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::bigint[]) AS x(repo, name, digest, updated_at, last_pulled_at)
    JOIN repositories r ON r.name = x.repo JOIN manifests m ON m.repository_id = r.id AND m.digest = x.digest`,
});

const only = <T extends BatchType>(records: readonly BatchRecord[], type: T) => records.filter((r): r is Extract<BatchRecord, { type: T }> => r.type === type);

/**
 * Inserts `records` (all of one type) in one or two statements. Returns false when some did not go in; throws a
 * database error (a constraint) as it comes. Either way the caller rolls the batch back.
 */
export async function insertBatch(client: pg.ClientBase, records: readonly BatchRecord[], onRepository: (name: string, id: number) => void): Promise<boolean> {
  const expect = (result: pg.QueryResult) => (result.rowCount ?? 0) === records.length;
  switch (records[0]?.type) {
    case undefined:
      return true;
    case 'repository': {
      const list = only(records, 'repository');
      const result = await run<{ id: number; name: string }>(client, sql.repositories, [list.map((r) => r.name), list.map((r) => r.createdAt)]);
      if (!expect(result)) return false;
      for (const row of result.rows) onRepository(row.name, row.id);
      return true;
    }
    case 'blob': {
      const list = only(records, 'blob');
      return expect(await run(client, sql.blobs, [list.map((b) => b.digest), list.map((b) => b.size), list.map((b) => b.createdAt)]));
    }
    case 'link': {
      const list = only(records, 'link');
      return expect(await run(client, sql.links, [list.map((l) => l.repository), list.map((l) => l.digest), list.map((l) => l.createdAt)]));
    }
    case 'tag': {
      const list = only(records, 'tag');
      const values = [list.map((t) => t.repository), list.map((t) => t.name), list.map((t) => t.digest), list.map((t) => t.updatedAt), list.map((t) => t.lastPulledAt)];
      return expect(await run(client, sql.tags, values));
    }
    case 'manifest': {
      const list = only(records, 'manifest');
      const result = await run<{ id: number; repository_id: number; digest: string }>(client, sql.manifests, [
        list.map((m) => m.repository),
        list.map((m) => m.digest),
        list.map((m) => m.mediaType),
        list.map((m) => m.artifactType),
        list.map((m) => m.subject),
        list.map((m) => (m.annotations ? JSON.stringify(m.annotations) : null)),
        list.map((m) => Buffer.from(m.body, 'base64')),
        list.map((m) => m.createdAt),
        list.map((m) => m.lastPulledAt),
      ]);
      if (!expect(result)) return false;
      // A digest appears in several repositories: the inserted ids are told apart by repository too.
      const { rows: repos } = await client.query<{ id: number; name: string }>('SELECT id, name FROM repositories WHERE id = ANY($1::bigint[])', [
        [...new Set(result.rows.map((r) => r.repository_id))],
      ]);
      const repoName = new Map(repos.map((r) => [r.id, r.name]));
      const ids = new Map(result.rows.map((r) => [`${repoName.get(r.repository_id)}\n${r.digest}`, r.id]));
      const refs: [number[], string[], string[]] = [[], [], []];
      for (const m of list) {
        const id = ids.get(`${m.repository}\n${m.digest}`)!;
        for (const [kind, digests] of [['blob', m.blobs], ['manifest', m.manifests]] as const) {
          for (const digest of digests) {
            refs[0].push(id);
            refs[1].push(digest);
            refs[2].push(kind);
          }
        }
      }
      if (refs[0].length > 0) await run(client, sql.references, refs);
      return true;
    }
  }
}

/** The room a record takes in a batch: manifest bodies by their size, everything else nothing. */
export function batchBytes(record: BatchRecord): number {
  return record.type === 'manifest' ? (record.body.length * 3) / 4 : 0;
}
