// A fresh, empty place in the PostgreSQL the scale tests run against (scripts/services/postgres.sh): a schema of
// its own per test, reached through a URL whose search_path names it, dropped afterwards.
import { randomBytes } from 'node:crypto';
import pg from 'pg';

/** The server's URL; a missing one fails the test (the scale tests never skip). */
export function serverUrl(): string {
  const url = process.env.WHARF_TEST_PG_URL;
  if (!url) throw new Error('WHARF_TEST_PG_URL is not set: run through scripts/with-services.sh (it starts PostgreSQL)');
  return url;
}

export interface FreshSchema {
  /** Connects with search_path set to the schema, so everything Wharf creates lands there. */
  readonly url: string;
  readonly schema: string;
  /** Runs one statement as the server's admin, in the schema. */
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values?: unknown[]): Promise<R[]>;
  drop(): Promise<void>;
}

/** A new schema on the server at `base` (default: the scale tests' WHARF_TEST_PG_URL). */
export async function freshSchema(base: string = serverUrl()): Promise<FreshSchema> {
  const schema = `wharf_test_${randomBytes(6).toString('hex')}`;
  const url = new URL(base);
  url.searchParams.set('options', `-c search_path=${schema}`);
  const admin = new pg.Client({ connectionString: url.toString() });
  await admin.connect();
  await admin.query(`CREATE SCHEMA ${schema}`);
  return {
    url: url.toString(),
    schema,
    async query(text, values) {
      return (await admin.query(text, values)).rows;
    },
    async drop() {
      await admin.query(`DROP SCHEMA ${schema} CASCADE`);
      await admin.end();
    },
  };
}
