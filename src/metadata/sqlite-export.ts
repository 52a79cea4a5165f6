// The SQLite store's logical export (format in export-format.ts).
//
// It reads through a connection of its own. A read transaction on the serving connection would not isolate
// anything: better-sqlite3 runs every write the registry makes meanwhile on that same connection, inside the open
// transaction (as savepoints). A second connection in WAL mode reads one snapshot, as of its first read, without
// blocking the writers. (An in-memory database has no file to open twice: it is copied, at one instant, instead.)
// Rows come in keyset pages, with the event loop freed every few milliseconds; the sink is awaited for each record.
import Database from 'better-sqlite3';
import { ExportWriter, type ExportCounts, type ExportSink } from './export-format.js';
import { eventDeliveries, manifestRecord, uploadRecord, type ManifestExportRow } from './export-rows.js';
import { Pacer } from './yield.js';

const pageSize = 500;


// Every order is the content's own (names, digests; events in the order they happened), never a row id: the
// export of a store is the same whichever store the content was imported into.
function prepare(db: Database.Database) {
  return {
    repositories: db.prepare<[string, number], { id: number; name: string; created_at: number }>(
      'SELECT id, name, created_at FROM repositories WHERE deleted = 0 AND name > ? ORDER BY name LIMIT ?',
    ),
    blobs: db.prepare<[string, number], { digest: string; size: number; created_at: number }>(
      'SELECT digest, size, created_at FROM blobs WHERE digest > ? ORDER BY digest LIMIT ?',
    ),
    links: db.prepare<[number, string, number], { digest: string; created_at: number }>(
      'SELECT digest, created_at FROM repository_blobs WHERE repository_id = ? AND digest > ? ORDER BY digest LIMIT ?',
    ),
    // Without the bodies: they are read one at a time, so a page of large manifests never sits in memory.
    manifests: db.prepare<[number, string, number], ManifestExportRow>(
      `SELECT id, digest, media_type, artifact_type, subject, annotations, created_at, last_pulled_at FROM manifests
       WHERE repository_id = ? AND digest > ? ORDER BY digest LIMIT ?`,
    ),
    body: db.prepare<[number], { body: Buffer }>('SELECT body FROM manifests WHERE id = ?'),
    references: db.prepare<[number], { digest: string; kind: 'blob' | 'manifest' }>(
      'SELECT digest, kind FROM manifest_references WHERE manifest_id = ? ORDER BY digest',
    ),
    tags: db.prepare<[number, string, number], { name: string; digest: string; updated_at: number; last_pulled_at: number | null }>(
      `SELECT name, manifest_digest AS digest, updated_at, last_pulled_at FROM tags
       WHERE repository_id = ? AND name > ? ORDER BY name LIMIT ?`,
    ),
    uploads: db.prepare<
      [string, number],
      { id: string; repository: string; algorithm: string; size: number; created_at: number; updated_at: number }
    >('SELECT id, repository, algorithm, size, created_at, updated_at FROM uploads WHERE id > ? ORDER BY id LIMIT ?'),
    events: db.prepare<[number, number], { id: number; repository: string; payload: string; created_at: number }>(
      'SELECT id, repository, payload, created_at FROM events WHERE id > ? ORDER BY id LIMIT ?',
    ),
    deliveries: db.prepare<
      [number],
      { endpoint: string; status: 'pending' | 'dead'; attempts: number; next_attempt_at: number; last_error: string | null }
    >('SELECT endpoint, status, attempts, next_attempt_at, last_error FROM deliveries WHERE event_id = ? ORDER BY endpoint'),
    pendingDeletions: db.prepare<[string, number], { digest: string }>(
      'SELECT digest FROM gc_pending_deletions WHERE digest > ? ORDER BY digest LIMIT ?',
    ),
  };
}

/**
 * Runs `each` over every row `page` returns, a page at a time, continuing after the last row's key; the pacer
 * frees the event loop every few milliseconds, however the rows are spread over pages.
 */
async function forEachRow<R, K>(
  pacer: Pacer,
  page: (after: K) => R[],
  start: K,
  keyOf: (row: R) => K,
  each: (row: R) => Promise<void>,
): Promise<void> {
  for (let after = start; ; ) {
    const rows = page(after);
    for (const row of rows) {
      await each(row);
      await pacer.tick();
    }
    if (rows.length < pageSize) return;
    after = keyOf(rows[rows.length - 1]!);
  }
}

/** Exports the SQLite database at `path` (':memory:' = the serving connection `db`, copied first). */
export async function exportSqlite(db: Database.Database, path: string, storeName: string, sink: ExportSink): Promise<ExportCounts> {
  const reader = path === ':memory:' ? new Database(db.serialize()) : new Database(path, { readonly: true, fileMustExist: true });
  try {
    reader.pragma('busy_timeout = 10000');
    reader.exec('BEGIN');
    try {
      reader.prepare('SELECT 1 FROM store_totals').get(); // the snapshot is taken at the transaction's first read
      const at = new Date();
      return await writeExport(reader, storeName, at, sink);
    } finally {
      reader.exec('ROLLBACK');
    }
  } finally {
    reader.close();
  }
}

async function writeExport(db: Database.Database, storeName: string, at: Date, sink: ExportSink): Promise<ExportCounts> {
  const q = prepare(db);
  const out = new ExportWriter(sink);
  const pacer = new Pacer();
  const rows = <R, K>(page: (after: K) => R[], start: K, keyOf: (row: R) => K, each: (row: R) => Promise<void>) =>
    forEachRow(pacer, page, start, keyOf, each);
  /** Links, manifests and tags go repository by repository: each section walks the repositories again. */
  const perRepository = (each: (id: number, name: string) => Promise<void>) =>
    rows(
      (after: string) => q.repositories.all(after, pageSize),
      '',
      (r) => r.name,
      (r) => each(r.id, r.name),
    );

  await out.header(storeName, at);
  await rows(
    (after: string) => q.repositories.all(after, pageSize),
    '',
    (r) => r.name,
    (r) => out.write({ type: 'repository', name: r.name, createdAt: r.created_at }),
  );
  await rows(
    (after: string) => q.blobs.all(after, pageSize),
    '',
    (b) => b.digest,
    (b) => out.write({ type: 'blob', digest: b.digest, size: b.size, createdAt: b.created_at }),
  );
  await perRepository((id, repository) =>
    rows(
      (after: string) => q.links.all(id, after, pageSize),
      '',
      (l) => l.digest,
      (l) => out.write({ type: 'link', repository, digest: l.digest, createdAt: l.created_at }),
    ),
  );
  await perRepository((id, repository) =>
    rows(
      (after: string) => q.manifests.all(id, after, pageSize),
      '',
      (m) => m.digest,
      (m) => {
        const refs = q.references.all(m.id);
        return out.write(manifestRecord(repository, m, q.body.get(m.id)!.body, refs));
      },
    ),
  );
  await perRepository((id, repository) =>
    rows(
      (after: string) => q.tags.all(id, after, pageSize),
      '',
      (t) => t.name,
      (t) => out.write({ type: 'tag', repository, name: t.name, digest: t.digest, updatedAt: t.updated_at, lastPulledAt: t.last_pulled_at }),
    ),
  );
  await rows(
    (after: string) => q.uploads.all(after, pageSize),
    '',
    (u) => u.id,
    (u) => out.write(uploadRecord(u)),
  );
  await rows(
    (after: number) => q.events.all(after, pageSize),
    0,
    (e) => e.id,
    async (e) => {
      const deliveries = eventDeliveries(q.deliveries.all(e.id));
      // Delivered everywhere (the outbox drops such events in the same transaction; this is only defensive).
      if (deliveries.length === 0) return;
      await out.write({ type: 'event', repository: e.repository, payload: e.payload, createdAt: e.created_at, deliveries });
    },
  );
  await rows(
    (after: string) => q.pendingDeletions.all(after, pageSize),
    '',
    (p) => p.digest,
    (p) => out.write({ type: 'pending-deletion', digest: p.digest }),
  );
  return out.end();
}
