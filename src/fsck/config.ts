import { z } from 'zod';
import { parseDuration } from '../config/duration.js';

const duration = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .refine((v) => parseDuration(v) !== null, { message: "expected a duration such as '30m', '12h', '7d' or '0'" })
    .transform((v) => parseDuration(v)!)
    .meta({ kind: 'duration', fallback });

export const fsckConfigSchema = z
  .object({
    scrub: z
      .object({
        enabled: z
          .boolean()
          .default(false)
          .describe('Re-verify every blob (bytes present, size, digest) and every manifest reference in the background; problems are logged and counted, never repaired.'),
        rate: z
          .number()
          .int()
          .positive()
          .default(50 * 1024 * 1024)
          .describe('Bytes per second the scrub reads at most (default 50 MiB/s).'),
        interval: duration('24h').describe('Pause between the end of one full round and the start of the next.'),
      })
      .strict()
      .prefault({} as never),
  })
  .strict()
  .prefault({} as never)
  .describe('Integrity checks: `wharf fsck` and the background scrub.');

export type FsckConfig = z.output<typeof fsckConfigSchema>;
