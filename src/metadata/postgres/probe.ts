import { createPool, redactUrl } from './pool.js';
import { postgresSchemaVersion } from './migrate.js';

/** Whether Wharf has written to the database at `url` (without creating anything there). */
export async function postgresStoreExists(url: string): Promise<boolean> {
  const pool = createPool({ url, poolSize: 1 }, () => {});
  try {
    return (await postgresSchemaVersion(pool)) > 0;
  } catch (err) {
    throw new Error(`cannot reach the PostgreSQL metadata store at ${redactUrl(url)}: ${(err as Error).message}`, { cause: err });
  } finally {
    await pool.end();
  }
}
