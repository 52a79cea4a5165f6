// The connection pool and the one way the PostgreSQL store runs a transaction.
import pg from 'pg';

export interface PostgresOptions {
  /** postgres://user:password@host:port/database (libpq's URL form; PG* environment variables fill what it omits). */
  readonly url: string;
  /** Connections this process opens at most. */
  readonly poolSize: number;
}

/** The URL with its password replaced, for messages and logs. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(an unparseable PostgreSQL URL)';
  }
}

// Counts, sizes and millisecond times are bigint in the schema; all of them fit a double (2^53), so they are read
// as numbers instead of pg's default strings.
const int8 = 20;
const types: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === int8 ? (value: string) => Number(value) : pg.types.getTypeParser(oid, format)) as pg.CustomTypesConfig['getTypeParser'],
};

export function createPool(options: PostgresOptions, onError: (err: Error) => void): pg.Pool {
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.poolSize,
    types,
    application_name: 'wharf',
    connectionTimeoutMillis: 10_000,
    idleTimeoutMillis: 30_000,
    keepAlive: true,
  });
  // An idle connection that breaks (server restart, network) emits here; without a listener it would crash the process.
  pool.on('error', onError);
  return pool;
}

/** Thrown inside a transaction when a row it needed changed under it: the whole transaction runs again. */
export class RetryTransaction extends Error {}

// serialization_failure and deadlock_detected: PostgreSQL rolled the transaction back, and running it again is
// the documented answer. Lock order is kept the same everywhere a cycle could form, so these stay rare.
const retryableCodes = new Set(['40001', '40P01']);
const maxAttempts = 10;

function retryable(err: unknown): boolean {
  return err instanceof RetryTransaction || retryableCodes.has((err as { code?: string }).code ?? '');
}

export type Queryable = Pick<pg.ClientBase, 'query'>;

/** Runs `work` in one transaction on one connection; `rollback` in the result undoes it (a refused write). */
export async function transaction<T>(pool: pg.Pool, work: (client: pg.PoolClient) => Promise<T | Rollback<T>>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const client = await pool.connect();
    let broken: Error | undefined;
    try {
      await client.query('BEGIN');
      const result = await work(client);
      if (result instanceof Rollback) {
        await client.query('ROLLBACK');
        return result.value;
      }
      await client.query('COMMIT');
      return result;
    } catch (err) {
      await client.query('ROLLBACK').catch((rollbackErr: Error) => {
        broken = rollbackErr;
      });
      if (attempt < maxAttempts && retryable(err)) continue;
      throw err;
    } finally {
      client.release(broken);
    }
  }
}

/** What a transaction returns when it must not commit (a manifest refused for a missing blob writes nothing). */
export class Rollback<T> {
  constructor(readonly value: T) {}
}
