// Loading a logical export (export-format.ts) into an empty SQLite store, in one transaction: a damaged export
// rolls back to the empty store it found.
//
// Rows go in through plain INSERTs, so the schema's triggers do what they do for a push: the usage counters and
// totals count what is imported, and each new blob and manifest is queued for GC review as of its creation time.
// Those queues are therefore not part of the export: copying them would bypass the triggers, and a queue entry
// only asks GC to re-check (a re-check that finds a manifest or tag still keeping the content keeps it).
import type Database from 'better-sqlite3';
import { ExportFormatError, readExport, StoreNotEmptyError, type ExportCounts, type ExportRecord, type ExportSource } from './export-format.js';
import { Pacer } from './yield.js';

function prepare(db: Database.Database) {
  return {
    used: db.prepare<[], { used: number }>(
      `SELECT EXISTS (SELECT 1 FROM repositories) OR EXISTS (SELECT 1 FROM blobs) OR EXISTS (SELECT 1 FROM uploads)
         OR EXISTS (SELECT 1 FROM events) OR EXISTS (SELECT 1 FROM gc_pending_deletions) AS used`,
    ),
    repository: db.prepare('INSERT INTO repositories (name, created_at) VALUES (?, ?)'),
    repoId: db.prepare<[string], { id: number }>('SELECT id FROM repositories WHERE name = ?'),
    blob: db.prepare('INSERT INTO blobs (digest, size, created_at) VALUES (?, ?, ?)'),
    blobExists: db.prepare<[string], { one: number }>('SELECT 1 AS one FROM blobs WHERE digest = ?'),
    link: db.prepare('INSERT INTO repository_blobs (repository_id, digest, created_at) VALUES (?, ?, ?)'),
    manifest: db.prepare<unknown[], { id: number }>(
      `INSERT INTO manifests (repository_id, digest, media_type, artifact_type, subject, annotations, size, body, created_at, last_pulled_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
    ),
    // A digest listed twice (or as both a blob and a child) is one reference, as when it was pushed.
    reference: db.prepare('INSERT INTO manifest_references (manifest_id, digest, kind) VALUES (?, ?, ?) ON CONFLICT DO NOTHING'),
    manifestExists: db.prepare<[number, string], { one: number }>('SELECT 1 AS one FROM manifests WHERE repository_id = ? AND digest = ?'),
    tag: db.prepare('INSERT INTO tags (repository_id, name, manifest_digest, updated_at, last_pulled_at) VALUES (?, ?, ?, ?, ?)'),
    upload: db.prepare('INSERT INTO uploads (id, repository, algorithm, size, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)'),
    event: db.prepare<[string, string, number], { id: number }>('INSERT INTO events (repository, payload, created_at) VALUES (?, ?, ?) RETURNING id'),
    delivery: db.prepare(
      `INSERT INTO deliveries (endpoint, event_id, repository, status, attempts, next_attempt_at, last_error)
       VALUES (?, ?, ?, ?, ?, ?, ?)`,
    ),
    pendingDeletion: db.prepare('INSERT INTO gc_pending_deletions (digest) VALUES (?)'),
  };
}

type Statements = ReturnType<typeof prepare>;

function isConstraint(err: unknown): boolean {
  return typeof (err as { code?: unknown })?.code === 'string' && (err as { code: string }).code.startsWith('SQLITE_CONSTRAINT');
}

function insert(q: Statements, r: ExportRecord, line: number): void {
  const fail = (why: string): never => {
    throw new ExportFormatError(`line ${line} of the metadata export: ${why}`);
  };
  const repoId = (name: string): number => q.repoId.get(name)?.id ?? fail(`repository ${JSON.stringify(name)} is not among the export's repositories`);
  switch (r.type) {
    case 'repository':
      q.repository.run(r.name, r.createdAt);
      return;
    case 'blob':
      q.blob.run(r.digest, r.size, r.createdAt);
      return;
    case 'link': {
      const id = repoId(r.repository);
      if (!q.blobExists.get(r.digest)) fail(`links blob ${r.digest}, which is not among the export's blobs`);
      q.link.run(id, r.digest, r.createdAt);
      return;
    }
    case 'manifest': {
      const body = Buffer.from(r.body, 'base64');
      const { id } = q.manifest.get(
        repoId(r.repository),
        r.digest,
        r.mediaType,
        r.artifactType,
        r.subject,
        r.annotations ? JSON.stringify(r.annotations) : null,
        body.length,
        body,
        r.createdAt,
        r.lastPulledAt,
      )!;
      for (const digest of r.blobs) q.reference.run(id, digest, 'blob');
      for (const digest of r.manifests) q.reference.run(id, digest, 'manifest');
      return;
    }
    case 'tag': {
      const id = repoId(r.repository);
      if (!q.manifestExists.get(id, r.digest)) fail(`tag ${r.name} points at ${r.digest}, which is not among the repository's manifests`);
      q.tag.run(id, r.name, r.digest, r.updatedAt, r.lastPulledAt);
      return;
    }
    case 'upload':
      q.upload.run(r.id, r.repository, r.algorithm, r.size, r.createdAt, r.updatedAt);
      return;
    case 'event': {
      const { id } = q.event.get(r.repository, r.payload, r.createdAt)!;
      for (const d of r.deliveries) q.delivery.run(d.endpoint, id, r.repository, d.status, d.attempts, d.nextAttemptAt, d.lastError);
      return;
    }
    case 'pending-deletion':
      q.pendingDeletion.run(r.digest);
      return;
  }
}

export async function importSqlite(db: Database.Database, storeName: string, source: ExportSource): Promise<ExportCounts> {
  const q = prepare(db);
  // The transaction spans awaits (the source is read as it comes): better-sqlite3's transaction() is for
  // synchronous functions only, so it is begun and ended by hand.
  db.exec('BEGIN IMMEDIATE');
  const records = readExport(source);
  try {
    if (q.used.get()!.used) throw new StoreNotEmptyError(storeName);
    const pacer = new Pacer();
    for (;;) {
      const next = await records.next();
      if (next.done) {
        db.exec('COMMIT');
        return next.value.counts;
      }
      const { line, record } = next.value;
      try {
        insert(q, record, line);
      } catch (err) {
        if (!isConstraint(err)) throw err;
        throw new ExportFormatError(`line ${line} of the metadata export: a ${record.type} that is already there (${(err as Error).message})`);
      }
      await pacer.tick();
    }
  } catch (err) {
    if (db.inTransaction) db.exec('ROLLBACK');
    await records.return(undefined as never).catch(() => undefined); // closes the source (a file being read)
    throw err;
  }
}
