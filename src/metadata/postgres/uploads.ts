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
});

/** Upload sessions in PostgreSQL: the PostgresMetadataStore's upload methods delegate here. */
export class PostgresUploadSessions implements UploadSessionStore {
  constructor(private readonly db: Db) {}

  async createUpload(upload: { id: string; repository: string; algorithm: string }): Promise<void> {
    await this.db.query(sql.create, [upload.id, upload.repository, upload.algorithm, Date.now()]);
  }

  /**
   * Count and insert under one lock for the whole database: two nodes (or two connections of one) opening
   * sessions at once would otherwise both pass the same count. Held for three short statements.
   */
  openUpload(upload: { id: string; repository: string; algorithm: string }, limits: UploadLimits): Promise<UploadOpening> {
    return this.db.tx(async (client): Promise<UploadOpening> => {
      await run(client, sql.lockOpening);
      if ((await run<{ n: number }>(client, sql.count)).rows[0]!.n >= limits.total) return 'total-limit';
      if ((await run<UploadUsage>(client, sql.usage, [upload.repository])).rows[0]!.sessions >= limits.perRepository) return 'repository-limit';
      await run(client, sql.create, [upload.id, upload.repository, upload.algorithm, Date.now()]);
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
