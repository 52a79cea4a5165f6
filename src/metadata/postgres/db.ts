// How the PostgreSQL store's parts reach the database: named statements (prepared once per connection), one-shot
// queries and transactions, all of which wait for the migrations the store started with.
import type pg from 'pg';
import { transaction, type Rollback } from './pool.js';

export interface Statement {
  readonly name: string;
  readonly text: string;
}

/** Names each statement after its part and key, so every connection prepares it once and reuses the plan. */
export function statements<K extends string>(part: string, texts: Record<K, string>): Record<K, Statement> {
  const out = {} as Record<K, Statement>;
  for (const key of Object.keys(texts) as K[]) out[key] = { name: `wharf_${part}_${key}`, text: texts[key] };
  return out;
}

export function run<R extends pg.QueryResultRow = pg.QueryResultRow>(
  client: pg.ClientBase,
  statement: Statement,
  values: readonly unknown[] = [],
): Promise<pg.QueryResult<R>> {
  return client.query<R>({ name: statement.name, text: statement.text, values: values as unknown[] });
}

export class Db {
  constructor(
    readonly pool: pg.Pool,
    private readonly ready: Promise<unknown>,
  ) {}

  async query<R extends pg.QueryResultRow = pg.QueryResultRow>(statement: Statement, values: readonly unknown[] = []): Promise<pg.QueryResult<R>> {
    await this.ready;
    return this.pool.query<R>({ name: statement.name, text: statement.text, values: values as unknown[] });
  }

  async rows<R extends pg.QueryResultRow>(statement: Statement, values: readonly unknown[] = []): Promise<R[]> {
    return (await this.query<R>(statement, values)).rows;
  }

  async tx<T>(work: (client: pg.PoolClient) => Promise<T | Rollback<T>>): Promise<T> {
    await this.ready;
    return transaction(this.pool, work);
  }

  /** One connection for work that spans transactions (a session advisory lock); released when `work` ends. */
  async withClient<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    await this.ready;
    const client = await this.pool.connect();
    let broken: Error | undefined;
    try {
      return await work(client);
    } catch (err) {
      // The session may hold locks or an open transaction: it is closed rather than handed to the next caller.
      broken = err as Error;
      throw err;
    } finally {
      client.release(broken);
    }
  }
}
