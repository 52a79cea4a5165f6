// Loading a logical export (../export-format.ts) into an empty PostgreSQL store, in one transaction: a damaged
// export rolls back to the empty store it found.
//
// Rows go in through plain INSERTs (batched, import-batch.ts), so the schema's triggers do what they do for a push:
// the usage counters and totals count what is imported, and each new blob and manifest is queued for GC review as
// of its creation time (the same derived state the SQLite store's import rebuilds).
import type pg from 'pg';
import { ExportFormatError, readExport, StoreNotEmptyError, type ExportCounts, type ExportRecord, type ExportSource } from '../export-format.js';
import { run, statements, type Db } from './db.js';
import { batchBodyBytes, batchBytes, batchRecords, batchTypes, insertBatch, type BatchRecord } from './import-batch.js';

const sql = statements('import', {
  // Two imports at once (two restores by mistake) would both find the store empty: the second waits for the first.
  lock: `SELECT pg_advisory_xact_lock(hashtextextended('wharf-import', 0))`,
  used: `SELECT EXISTS (SELECT 1 FROM repositories) OR EXISTS (SELECT 1 FROM blobs) OR EXISTS (SELECT 1 FROM uploads)
    OR EXISTS (SELECT 1 FROM events) OR EXISTS (SELECT 1 FROM gc_pending_deletions) AS used`,
  repository: 'INSERT INTO repositories (name, created_at) VALUES ($1, $2) RETURNING id',
  repoId: 'SELECT id FROM repositories WHERE name = $1',
  blob: 'INSERT INTO blobs (digest, size, created_at) VALUES ($1, $2, $3)',
  blobExists: 'SELECT 1 FROM blobs WHERE digest = $1',
  link: 'INSERT INTO repository_blobs (repository_id, digest, created_at) VALUES ($1, $2, $3)',
  manifest: `INSERT INTO manifests (repository_id, digest, media_type, artifact_type, subject, annotations, size, body, created_at, last_pulled_at)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id`,
  // A digest listed twice (or as both a blob and a child) is one reference, as when it was pushed.
  references: `INSERT INTO manifest_references (manifest_id, digest, kind)
    SELECT $1, digest, kind FROM unnest($2::text[], $3::text[]) AS r(digest, kind) ON CONFLICT DO NOTHING`,
  manifestExists: 'SELECT 1 FROM manifests WHERE repository_id = $1 AND digest = $2',
  tag: 'INSERT INTO tags (repository_id, name, manifest_digest, updated_at, last_pulled_at) VALUES ($1, $2, $3, $4, $5)',
  upload: 'INSERT INTO uploads (id, repository, algorithm, size, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6)',
  event: 'INSERT INTO events (repository, payload, created_at) VALUES ($1, $2, $3) RETURNING id',
  deliveries: `INSERT INTO deliveries (endpoint, event_id, repository, status, attempts, next_attempt_at, last_error)
    SELECT endpoint, $1, $2, status, attempts, next_attempt_at, last_error
    FROM unnest($3::text[], $4::text[], $5::int[], $6::bigint[], $7::text[]) AS d(endpoint, status, attempts, next_attempt_at, last_error)`,
  pendingDeletion: 'INSERT INTO gc_pending_deletions (digest) VALUES ($1)',
});

// Integrity violations (unique, foreign key, not null, check): a record the export holds twice or that contradicts
// another; never a fault of the database.
const isConstraint = (err: unknown): boolean => /^23/.test(String((err as { code?: unknown })?.code ?? ''));

/** Repository ids by name: the export lists every repository before anything that belongs to one. */
class Repositories {
  private readonly ids = new Map<string, number>();
  constructor(private readonly client: pg.ClientBase) {}

  add(name: string, id: number): void {
    // A few hundred thousand names at most in practice; beyond a bound, ids are looked up instead of kept.
    if (this.ids.size < 200_000) this.ids.set(name, id);
  }

  async id(name: string, fail: (why: string) => never): Promise<number> {
    const known = this.ids.get(name);
    if (known !== undefined) return known;
    const [row] = (await run<{ id: number }>(this.client, sql.repoId, [name])).rows;
    return row?.id ?? fail(`repository ${JSON.stringify(name)} is not among the export's repositories`);
  }
}

async function insert(client: pg.ClientBase, repos: Repositories, r: ExportRecord, line: number): Promise<void> {
  const fail = (why: string): never => {
    throw new ExportFormatError(`line ${line} of the metadata export: ${why}`);
  };
  switch (r.type) {
    case 'repository': {
      const { rows } = await run<{ id: number }>(client, sql.repository, [r.name, r.createdAt]);
      repos.add(r.name, rows[0]!.id);
      return;
    }
    case 'blob':
      await run(client, sql.blob, [r.digest, r.size, r.createdAt]);
      return;
    case 'link': {
      const id = await repos.id(r.repository, fail);
      if (!(await run(client, sql.blobExists, [r.digest])).rowCount) fail(`links blob ${r.digest}, which is not among the export's blobs`);
      await run(client, sql.link, [id, r.digest, r.createdAt]);
      return;
    }
    case 'manifest': {
      const body = Buffer.from(r.body, 'base64');
      const annotations = r.annotations ? JSON.stringify(r.annotations) : null;
      const values = [await repos.id(r.repository, fail), r.digest, r.mediaType, r.artifactType, r.subject, annotations, body.length, body, r.createdAt, r.lastPulledAt];
      const { rows } = await run<{ id: number }>(client, sql.manifest, values);
      const refs = [...r.blobs, ...r.manifests];
      if (refs.length > 0) await run(client, sql.references, [rows[0]!.id, refs, [...r.blobs.map(() => 'blob'), ...r.manifests.map(() => 'manifest')]]);
      return;
    }
    case 'tag': {
      const id = await repos.id(r.repository, fail);
      if (!(await run(client, sql.manifestExists, [id, r.digest])).rowCount) {
        fail(`tag ${r.name} points at ${r.digest}, which is not among the repository's manifests`);
      }
      await run(client, sql.tag, [id, r.name, r.digest, r.updatedAt, r.lastPulledAt]);
      return;
    }
    case 'upload':
      await run(client, sql.upload, [r.id, r.repository, r.algorithm, r.size, r.createdAt, r.updatedAt]);
      return;
    case 'event': {
      const { rows } = await run<{ id: number }>(client, sql.event, [r.repository, r.payload, r.createdAt]);
      const d = r.deliveries;
      await run(client, sql.deliveries, [
        rows[0]!.id,
        r.repository,
        d.map((x) => x.endpoint),
        d.map((x) => x.status),
        d.map((x) => x.attempts),
        d.map((x) => x.nextAttemptAt),
        d.map((x) => x.lastError),
      ]);
      return;
    }
    case 'pending-deletion':
      await run(client, sql.pendingDeletion, [r.digest]);
      return;
  }
}

/** Records waiting to go in as one batch: all of one type, their lines kept for the one-by-one retry. */
interface Pending {
  items: { line: number; record: BatchRecord }[];
  bytes: number;
}

export async function importPostgres(db: Db, storeName: string, source: ExportSource): Promise<ExportCounts> {
  return db.withClient(async (client) => {
    const records = readExport(source);
    const repos = new Repositories(client);
    const one = async (record: ExportRecord, line: number) => {
      try {
        await insert(client, repos, record, line);
      } catch (err) {
        if (!isConstraint(err)) throw err;
        throw new ExportFormatError(`line ${line} of the metadata export: a ${record.type} that is already there (${(err as Error).message})`);
      }
    };
    let pending: Pending = { items: [], bytes: 0 };
    const flush = async () => {
      const { items } = pending;
      pending = { items: [], bytes: 0 };
      if (items.length === 0) return;
      await client.query('SAVEPOINT wharf_batch');
      const whole = await insertBatch(
        client,
        items.map((i) => i.record),
        (name, id) => repos.add(name, id),
      ).catch((err: unknown) => {
        if (isConstraint(err)) return false;
        throw err;
      });
      if (whole) {
        await client.query('RELEASE SAVEPOINT wharf_batch');
        return;
      }
      await client.query('ROLLBACK TO SAVEPOINT wharf_batch');
      for (const { line, record } of items) await one(record, line);
    };
    await client.query('BEGIN');
    try {
      await run(client, sql.lock);
      if ((await run<{ used: boolean }>(client, sql.used)).rows[0]!.used) throw new StoreNotEmptyError(storeName);
      for (;;) {
        const next = await records.next();
        if (next.done) {
          await flush();
          await client.query('COMMIT');
          return next.value.counts;
        }
        const { line, record } = next.value;
        if (pending.items.length > 0 && pending.items[0]!.record.type !== record.type) await flush();
        if (!batchTypes.has(record.type)) {
          await one(record, line);
          continue;
        }
        const size = batchBytes(record as BatchRecord);
        if (pending.items.length >= batchRecords || (pending.items.length > 0 && pending.bytes + size > batchBodyBytes)) await flush();
        pending.items.push({ line, record: record as BatchRecord });
        pending.bytes += size;
      }
    } catch (err) {
      await client.query('ROLLBACK');
      await records.return(undefined as never).catch(() => undefined); // closes the source (a file being read)
      throw err;
    }
  });
}
