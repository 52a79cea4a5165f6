import { z } from 'zod';

const units: Record<string, number> = { B: 1, KB: 1e3, MB: 1e6, GB: 1e9, TB: 1e12, KIB: 1024, MIB: 1024 ** 2, GIB: 1024 ** 3, TIB: 1024 ** 4 };

/** '500MiB', '10GB', '1.5TiB', or a plain number of bytes. */
export function parseSize(value: string | number): number | null {
  if (typeof value === 'number') return Number.isSafeInteger(value) && value >= 0 ? value : null;
  const m = /^(\d+(?:\.\d+)?)\s*([KMGT]i?B|B)?$/i.exec(value.trim());
  if (!m) return null;
  return Math.floor(Number(m[1]) * units[(m[2] ?? 'B').toUpperCase()]!);
}

const size = z
  .union([z.number(), z.string()])
  .refine((v) => parseSize(v) !== null, { message: "expected a size such as '500MiB', '10GiB' or a number of bytes" })
  .transform((v) => parseSize(v)!);

export const quotaRuleSchema = z
  .object({
    repositories: z.array(z.string().min(1)).min(1),
    maxBytes: size,
  })
  .strict();

export const quotasConfigSchema = z
  .array(quotaRuleSchema)
  .default([])
  .describe(
    'Storage quotas: a list of `{repositories: [globs], maxBytes: 10GiB}`; the first rule whose glob matches a repository applies. Usage is the distinct blobs the repository holds plus bytes staged in its open uploads; bytes are counted as they arrive and the one that would exceed the quota gets 403 DENIED.',
  );

export type QuotaRule = z.output<typeof quotaRuleSchema>;
