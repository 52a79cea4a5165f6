import type Database from 'better-sqlite3';
import type { UploadLimits, UploadOpening, UploadRecord, UploadUsage } from './store.js';
import { toUpload, type UploadRow } from './rows.js';

/** Upload sessions in SQLite: the SqliteMetadataStore's upload methods delegate here. */
export class SqliteUploadSessions {
  private readonly stmt;

  constructor(private readonly db: Database.Database) {
    this.stmt = {
      create: db.prepare('INSERT INTO uploads (id, repository, algorithm, created_at, updated_at) VALUES (?, ?, ?, ?, ?)'),
      get: db.prepare<[string], UploadRow>('SELECT * FROM uploads WHERE id = ?'),
      touch: db.prepare('UPDATE uploads SET updated_at = ? WHERE id = ?'),
      progress: db.prepare('UPDATE uploads SET updated_at = ?, size = ? WHERE id = ?'),
      delete: db.prepare('DELETE FROM uploads WHERE id = ?'),
      stale: db.prepare<[number, number], UploadRow>('SELECT * FROM uploads WHERE updated_at < ? ORDER BY updated_at LIMIT ?'),
      emptyStale: db.prepare<[number, number], UploadRow>('SELECT * FROM uploads WHERE updated_at < ? AND size = 0 ORDER BY updated_at LIMIT ?'),
      count: db.prepare<[], { n: number }>('SELECT count(*) AS n FROM uploads'),
      usage: db.prepare<[string], UploadUsage>('SELECT count(*) AS sessions, coalesce(sum(size), 0) AS bytes FROM uploads WHERE repository = ?'),
    };
  }

  create(upload: { id: string; repository: string; algorithm: string }): void {
    const now = Date.now();
    this.stmt.create.run(upload.id, upload.repository, upload.algorithm, now, now);
  }

  /** Count and insert in one transaction, so concurrent starts cannot all pass the same check. */
  open(upload: { id: string; repository: string; algorithm: string }, limits: UploadLimits): UploadOpening {
    return this.db.transaction((): UploadOpening => {
      if (this.stmt.count.get()!.n >= limits.total) return 'total-limit';
      if (this.stmt.usage.get(upload.repository)!.sessions >= limits.perRepository) return 'repository-limit';
      this.create(upload);
      return 'opened';
    })();
  }

  get(id: string): UploadRecord | null {
    const row = this.stmt.get.get(id);
    return row ? toUpload(row) : null;
  }

  touch(id: string, size?: number): void {
    if (size === undefined) this.stmt.touch.run(Date.now(), id);
    else this.stmt.progress.run(Date.now(), size, id);
  }

  delete(id: string): void {
    this.stmt.delete.run(id);
  }

  updatedBefore(time: number, limit: number, emptyOnly: boolean): UploadRecord[] {
    return (emptyOnly ? this.stmt.emptyStale : this.stmt.stale).all(time, limit).map(toUpload);
  }

  count(): number {
    return this.stmt.count.get()!.n;
  }

  usage(repository: string): UploadUsage {
    return this.stmt.usage.get(repository)!;
  }
}
