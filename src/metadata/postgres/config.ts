// The `metadata.postgres` section of the configuration, composed into src/config/schema.ts.
import { z } from 'zod';
import { positiveInt, section } from '../../config-fields/fields.js';

// The value is never echoed in a message: it holds the password.
const url = z
  .string()
  .refine((v) => /^postgres(ql)?:$/.test(URL.canParse(v) ? new URL(v).protocol : ''), {
    message: 'expected a URL such as postgres://user:password@host:5432/database',
  });

export const postgresConfigSchema = section({
  url: url
    .optional()
    .describe(
      'Connection URL, `postgres://user:password@host:5432/database` (query options such as `sslmode=require` as libpq has them); the password may instead come from `PGPASSWORD`. Required with driver `postgres`; never logged.',
    ),
  poolSize: positiveInt(10).describe('Connections each Wharf node opens at most (several nodes: keep their sum under the server’s max_connections).'),
}).describe('PostgreSQL store (driver `postgres`): one database shared by every Wharf node.');

/** With driver `postgres`, the URL is required (a missing one would silently mean libpq's defaults). */
export function requirePostgresUrl(metadata: { driver: string; postgres: { url?: string | undefined } }, ctx: z.RefinementCtx): void {
  if (metadata.driver === 'postgres' && metadata.postgres.url === undefined) {
    ctx.addIssue({ code: 'custom', path: ['postgres', 'url'], message: 'driver postgres needs the database URL' });
  }
}
