// Versioned migrations, applied at start under a session advisory lock: nodes starting at once queue on the lock,
// and each finds the versions the first one applied. A database written by a newer Wharf is refused, not mangled.
import type pg from 'pg';
import { postgresMigrations } from './schema.js';

/** pg_advisory_lock key of the migrations ("wharf" in ASCII): one per database. */
export const migrationLockKey = 0x7768617266;

export class SchemaTooNewError extends Error {}

export async function migrate(pool: pg.Pool, migrations: readonly string[] = postgresMigrations): Promise<number> {
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    await client.query('SELECT pg_advisory_lock($1)', [migrationLockKey]);
    try {
      await client.query(`CREATE TABLE IF NOT EXISTS wharf_schema_migrations (
        version integer PRIMARY KEY,
        applied_at timestamptz NOT NULL DEFAULT now()
      )`);
      const { rows } = await client.query<{ version: number | null }>('SELECT max(version) AS version FROM wharf_schema_migrations');
      const current = rows[0]?.version ?? 0;
      if (current > migrations.length) {
        throw new SchemaTooNewError(
          `the PostgreSQL metadata schema is at version ${current}, newer than this Wharf knows (${migrations.length}): run a newer Wharf`,
        );
      }
      for (let version = current; version < migrations.length; version++) {
        await client.query('BEGIN');
        try {
          await client.query(migrations[version]!);
          await client.query('INSERT INTO wharf_schema_migrations (version) VALUES ($1)', [version + 1]);
          await client.query('COMMIT');
        } catch (err) {
          await client.query('ROLLBACK');
          throw err;
        }
      }
      return migrations.length;
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [migrationLockKey]);
    }
  } catch (err) {
    if (!(err instanceof SchemaTooNewError) && (err as { code?: string }).code === undefined) broken = err as Error;
    throw err;
  } finally {
    client.release(broken);
  }
}

/** The schema version of the database `pool` reaches, 0 when Wharf never wrote to it. */
export async function postgresSchemaVersion(pool: pg.Pool): Promise<number> {
  const exists = await pool.query<{ found: boolean }>("SELECT to_regclass('wharf_schema_migrations') IS NOT NULL AS found");
  if (!exists.rows[0]?.found) return 0;
  const { rows } = await pool.query<{ version: number | null }>('SELECT max(version) AS version FROM wharf_schema_migrations');
  return rows[0]?.version ?? 0;
}
