// Snapshots of the SQLite metadata database taken from another process than the one serving it.
//
// SqliteMetadataStore.backup() copies in steps of 100 pages so that the serving process is not blocked; a step
// that finds the database changed by *another* connection makes SQLite restart the copy from the first page. That
// is fine inside the serving process (its own writes are carried into the copy), but `wharf backup` runs beside a
// serving registry: measured here, a 20 MiB database with a writer in the other process took 1610 restarts and
// 4 s, and a larger one under steady pushes may never finish. So the CLI copies in one step instead: one read
// transaction, which in WAL mode does not block the writers, and a snapshot exactly as of its start.
import Database from 'better-sqlite3';
import { migrations } from './sqlite-schema.js';

/** The configured store cannot be read (backup reports it as its own failure, not a crash). */
export class MetadataUnavailableError extends Error {}

/** Copies the database at `source` to `destination` (which must not exist) as of one instant. */
export async function snapshotSqlite(source: string, destination: string): Promise<void> {
  let db: Database.Database;
  try {
    db = new Database(source, { fileMustExist: true });
  } catch (err) {
    throw new MetadataUnavailableError(`cannot open the metadata database ${source}: ${(err as Error).message}`);
  }
  try {
    db.pragma('busy_timeout = 10000');
    await db.backup(destination, { progress: () => 0x7fffffff });
  } finally {
    db.close();
  }
}

/** PRAGMA user_version of a database file: the number of schema migrations it has. */
export function sqliteSchemaVersion(path: string): number {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    return db.pragma('user_version', { simple: true }) as number;
  } finally {
    db.close();
  }
}

/** The schema version this build of Wharf writes. */
export const currentSchemaVersion = migrations.length;
