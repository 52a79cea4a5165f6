// The PostgreSQL store's logical export (format in ../export-format.ts): the same records, in the same order, as
// the SQLite store's, so an export does not depend on which database wrote it.
//
// One connection, one REPEATABLE READ READ ONLY transaction: every page reads the snapshot taken at the first
// query, while the other connections keep serving writes (readers and writers do not block each other). Rows come
// in keyset pages; ordering text is COLLATE "C" (byte order, as SQLite's BINARY) wherever a column is not already.
// Manifest bodies are read in chunks of bounded size, so a page of large manifests never sits in memory.
import type pg from 'pg';
import { ExportWriter, type ExportCounts, type ExportSink } from '../export-format.js';
import { eventDeliveries, manifestRecord, uploadRecord, type DeliveryExportRow, type ManifestExportRow } from '../export-rows.js';
import type { UploadRow } from '../rows.js';
import { run, statements, type Db } from './db.js';

const pageSize = 500;
/** Manifest bodies read per query at most (in bytes, by their recorded size; at least one body). */
const bodyChunkBytes = 4 << 20;

const sql = statements('export', {
  repositories: 'SELECT id, name, created_at FROM repositories WHERE NOT deleted AND name > $1 ORDER BY name LIMIT $2',
  blobs: 'SELECT digest, size, created_at FROM blobs WHERE digest > $1 ORDER BY digest LIMIT $2',
  links: 'SELECT digest, created_at FROM repository_blobs WHERE repository_id = $1 AND digest > $2 ORDER BY digest LIMIT $3',
  manifests: `SELECT id, digest, media_type, artifact_type, subject, annotations, size, created_at, last_pulled_at FROM manifests
    WHERE repository_id = $1 AND digest > $2 ORDER BY digest LIMIT $3`,
  bodies: 'SELECT id, body FROM manifests WHERE id = ANY($1::bigint[])',
  references: 'SELECT manifest_id, digest, kind FROM manifest_references WHERE manifest_id = ANY($1::bigint[]) ORDER BY manifest_id, digest',
  tags: `SELECT name, manifest_digest AS digest, updated_at, last_pulled_at FROM tags
    WHERE repository_id = $1 AND name > $2 ORDER BY name LIMIT $3`,
  uploads: `SELECT id, repository, algorithm, size, created_at, updated_at FROM uploads
    WHERE id COLLATE "C" > $1 ORDER BY id COLLATE "C" LIMIT $2`,
  events: 'SELECT id, repository, payload, created_at FROM events WHERE id > $1 ORDER BY id LIMIT $2',
  deliveries: `SELECT event_id, endpoint, status, attempts, next_attempt_at, last_error FROM deliveries
    WHERE event_id = ANY($1::bigint[]) ORDER BY event_id, endpoint COLLATE "C"`,
  pendingDeletions: 'SELECT digest FROM gc_pending_deletions WHERE digest > $1 ORDER BY digest LIMIT $2',
});

type ManifestRow = ManifestExportRow & { size: number };

type DeliveryRow = DeliveryExportRow & { event_id: number };

/** Rows grouped by a key, in the order they came (the query orders them). */
function groupBy<R, K>(rows: readonly R[], key: (row: R) => K): Map<K, R[]> {
  const out = new Map<K, R[]>();
  for (const row of rows) {
    const k = key(row);
    const list = out.get(k);
    if (list) list.push(row);
    else out.set(k, [row]);
  }
  return out;
}

/** Pages of `query` (its last two parameters: the key to continue after, the page size), page by page. */
async function* pages<R extends pg.QueryResultRow, K>(
  client: pg.ClientBase,
  statement: (typeof sql)[keyof typeof sql],
  fixed: readonly unknown[],
  start: K,
  keyOf: (row: R) => K,
): AsyncGenerator<R[]> {
  for (let after = start; ; ) {
    const { rows } = await run<R>(client, statement, [...fixed, after, pageSize]);
    if (rows.length > 0) yield rows;
    if (rows.length < pageSize) return;
    after = keyOf(rows[rows.length - 1]!);
  }
}

export async function exportPostgres(db: Db, storeName: string, sink: ExportSink): Promise<ExportCounts> {
  return db.withClient(async (client) => {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    try {
      await client.query('SELECT 1 FROM store_totals LIMIT 1'); // the snapshot is taken at the first query
      const counts = await writeExport(client, storeName, new Date(), sink);
      await client.query('COMMIT');
      return counts;
    } catch (err) {
      await client.query('ROLLBACK');
      throw err;
    }
  });
}

async function writeExport(client: pg.ClientBase, storeName: string, at: Date, sink: ExportSink): Promise<ExportCounts> {
  const out = new ExportWriter(sink);
  type Repo = { id: number; name: string; created_at: number };
  const repositories = () => pages<Repo, string>(client, sql.repositories, [], '', (r) => r.name);
  /** Links, manifests and tags go repository by repository: each section walks the repositories again. */
  const perRepository = async (each: (id: number, name: string) => Promise<void>) => {
    for await (const page of repositories()) for (const r of page) await each(r.id, r.name);
  };

  await out.header(storeName, at);
  for await (const page of repositories()) {
    for (const r of page) await out.write({ type: 'repository', name: r.name, createdAt: r.created_at });
  }
  type Blob = { digest: string; size: number; created_at: number };
  for await (const page of pages<Blob, string>(client, sql.blobs, [], '', (b) => b.digest)) {
    for (const b of page) await out.write({ type: 'blob', digest: b.digest, size: b.size, createdAt: b.created_at });
  }
  await perRepository(async (id, repository) => {
    type Link = { digest: string; created_at: number };
    for await (const page of pages<Link, string>(client, sql.links, [id], '', (l) => l.digest)) {
      for (const l of page) await out.write({ type: 'link', repository, digest: l.digest, createdAt: l.created_at });
    }
  });
  await perRepository(async (id, repository) => {
    for await (const page of pages<ManifestRow, string>(client, sql.manifests, [id], '', (m) => m.digest)) {
      const refs = groupBy(
        (await run<{ manifest_id: number; digest: string; kind: 'blob' | 'manifest' }>(client, sql.references, [page.map((m) => m.id)])).rows,
        (r) => r.manifest_id,
      );
      for (let from = 0; from < page.length; ) {
        let to = from + 1;
        for (let bytes = page[from]!.size; to < page.length && bytes + page[to]!.size <= bodyChunkBytes; to++) bytes += page[to]!.size;
        const chunk = page.slice(from, to);
        const bodies = new Map(
          (await run<{ id: number; body: Buffer }>(client, sql.bodies, [chunk.map((m) => m.id)])).rows.map((b) => [b.id, b.body]),
        );
        for (const m of chunk) {
          await out.write(manifestRecord(repository, m, bodies.get(m.id)!, refs.get(m.id) ?? []));
        }
        from = to;
      }
    }
  });
  await perRepository(async (id, repository) => {
    type Tag = { name: string; digest: string; updated_at: number; last_pulled_at: number | null };
    for await (const page of pages<Tag, string>(client, sql.tags, [id], '', (t) => t.name)) {
      for (const t of page) {
        await out.write({ type: 'tag', repository, name: t.name, digest: t.digest, updatedAt: t.updated_at, lastPulledAt: t.last_pulled_at });
      }
    }
  });
  for await (const page of pages<UploadRow, string>(client, sql.uploads, [], '', (u) => u.id)) {
    for (const u of page) await out.write(uploadRecord(u));
  }
  type Event = { id: number; repository: string; payload: string; created_at: number };
  for await (const page of pages<Event, number>(client, sql.events, [], 0, (e) => e.id)) {
    const deliveries = groupBy((await run<DeliveryRow>(client, sql.deliveries, [page.map((e) => e.id)])).rows, (d) => d.event_id);
    for (const e of page) {
      const owed = deliveries.get(e.id);
      // Delivered everywhere (the outbox drops such events in the same transaction; this is only defensive).
      if (!owed) continue;
      await out.write({
        type: 'event',
        repository: e.repository,
        payload: e.payload,
        createdAt: e.created_at,
        deliveries: eventDeliveries(owed),
      });
    }
  }
  for await (const page of pages<{ digest: string }, string>(client, sql.pendingDeletions, [], '', (p) => p.digest)) {
    for (const p of page) await out.write({ type: 'pending-deletion', digest: p.digest });
  }
  return out.end();
}
