import { z } from 'zod';
import { duration, positiveInt, section } from '../config-fields/fields.js';

export const fsckConfigSchema = section({
  scrub: section({
    enabled: z
      .boolean()
      .default(false)
      .describe('Re-verify every blob (bytes present, size, digest) and every manifest reference in the background; problems are logged and counted, never repaired.'),
    rate: positiveInt(50 * 1024 * 1024).describe('Bytes per second the scrub reads at most (default 50 MiB/s).'),
    interval: duration('24h').describe('Pause between the end of one full round and the start of the next.'),
  }),
}).describe('Integrity checks: `wharf fsck` and the background scrub.');

export type FsckConfig = z.output<typeof fsckConfigSchema>;
