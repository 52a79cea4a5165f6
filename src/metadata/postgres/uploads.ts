import { toUpload, type UploadRow } from '../rows.js';
import type { UploadLimits, UploadOpening, UploadRecord, UploadSessionStore, UploadUsage } from '../store.js';
import { run, statements, type Db } from './db.js';

/** pg_advisory_xact_lock key serialising session opening ("upld"). */
const openLockKey = 0x75706c64;

const sql = statements('uploads', {
  create: 'INSERT INTO uploads (id, repository, algorithm, created_at, updated_at) VALUES ($1, $2, $3, $4, $4)',
  get: 'SELECT id, repository, algorithm, size, created_at, updated_at FROM uploads WHERE id = $1',
  touch: 'UPDATE uploads SET updated_at = $1 WHERE id = $2',
  progress: 'UPDATE uploads SET updated_at = $1, size = $2 WHERE id = $3',
  delete: 'DELETE FROM uploads WHERE id = $1',
  stale: 'SELECT id, repository, algorithm, size, created_at, updated_at FROM uploads WHERE updated_at < $1 ORDER BY updated_at LIMIT $2',
  emptyStale: `SELECT id, repository, algorithm, size, created_at, updated_at FROM uploads
    WHERE updated_at < $1 AND size = 0 ORDER BY updated_at LIMIT $2`,
  count: 'SELECT count(*) AS n FROM uploads',
  usage: 'SELECT count(*) AS sessions, coalesce(sum(size), 0)::bigint AS bytes FROM uploads WHERE repository = $1',
  lockOpening: `SELECT pg_advisory_xact_lock(${openLockKey})`,
  // After the lock, in a statement of its own (its snapshot then sees every session opened before the lock).
  openIfRoom: `WITH counts AS (
      SELECT (SELECT count(*) FROM uploads) AS total, (SELECT count(*) FROM uploads WHERE repository = $2) AS here),
    opened AS (
      INSERT INTO uploads (id, repository, algorithm, created_at, updated_at)
      SELECT $1, $2, $3, $4, $4 FROM counts WHERE total < $5 AND here < $6 RETURNING 1)
    SELECT total, here FROM counts`,
});

/** Upload sessions in PostgreSQL: the PostgresMetadataStore's upload methods delegate here. */
export class PostgresUploadSessions implements UploadSessionStore {
  constructor(private readonly db: Db) {}

  async createUpload(upload: { id: string; repository: string; algorithm: string }): Promise<void> {
    await this.db.query(sql.create, [upload.id, upload.repository, upload.algorithm, Date.now()]);
  }

  /**
   * Count and insert under one lock for the whole database: two nodes (or two connections of one) opening
   * sessions at once would otherwise both pass the same count. Held for one short statement.
   */
  openUpload(upload: { id: string; repository: string; algorithm: string }, limits: UploadLimits): Promise<UploadOpening> {
    return this.db.tx(async (client): Promise<UploadOpening> => {
      await run(client, sql.lockOpening);
      const values = [upload.id, upload.repository, upload.algorithm, Date.now(), limits.total, limits.perRepository];
      const { total, here } = (await run<{ total: number; here: number }>(client, sql.openIfRoom, values)).rows[0]!;
      if (total >= limits.total) return 'total-limit';
      if (here >= limits.perRepository) return 'repository-limit';
      return 'opened';
    });
  }

  async getUpload(id: string): Promise<UploadRecord | null> {
    const [row] = await this.db.rows<UploadRow>(sql.get, [id]);
    return row ? toUpload(row) : null;
  }

  async touchUpload(id: string, size?: number): Promise<void> {
    if (size === undefined) await this.db.query(sql.touch, [Date.now(), id]);
    else await this.db.query(sql.progress, [Date.now(), size, id]);
  }

  async deleteUpload(id: string): Promise<void> {
    await this.db.query(sql.delete, [id]);
  }

  async listUploadsUpdatedBefore(time: number, limit: number, emptyOnly = false): Promise<UploadRecord[]> {
    return (await this.db.rows<UploadRow>(emptyOnly ? sql.emptyStale : sql.stale, [time, limit])).map(toUpload);
  }

  async countUploads(): Promise<number> {
    return (await this.db.rows<{ n: number }>(sql.count))[0]!.n;
  }

  async uploadUsage(repository: string): Promise<UploadUsage> {
    return (await this.db.rows<UploadUsage>(sql.usage, [repository]))[0]!;
  }
}
