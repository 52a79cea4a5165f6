import { z } from 'zod';
import { optionalDuration } from '../config-fields/fields.js';

const pattern = z.string().refine(
  (v) => {
    try {
      new RegExp(v);
      return true;
    } catch {
      return false;
    }
  },
  { message: 'expected a regular expression' },
);

export const retentionRuleSchema = z
  .object({
    repositories: z.array(z.string().min(1)).min(1),
    keepLast: z.number().int().nonnegative().optional(),
    keepTags: z.array(pattern).default([]),
    olderThan: optionalDuration().optional(),
    notPulledFor: optionalDuration().optional(),
    untaggedOlderThan: optionalDuration().optional(),
  })
  .strict()
  .refine((r) => r.keepLast !== undefined || r.olderThan !== undefined || r.notPulledFor !== undefined || r.untaggedOlderThan !== undefined, {
    message: 'a retention rule needs at least one of keepLast, olderThan, notPulledFor, untaggedOlderThan',
  });

export const retentionConfigSchema = z
  .array(retentionRuleSchema)
  .default([])
  .describe(
    'Retention rules, applied by each GC cycle; the first rule whose `repositories` glob matches applies. `keepLast: N` keeps the N most recently pushed tags, `keepTags: [regex]` are never deleted, `olderThan` deletes tags pushed earlier, `notPulledFor` deletes tags not pulled for that long, `untaggedOlderThan` deletes untagged manifests.',
  );

export type RetentionRule = z.output<typeof retentionRuleSchema>;
