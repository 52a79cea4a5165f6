const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const pattern = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/;

/** Parses '250ms', '30s', '5m', '24h', '7d', or '0'; null when malformed. */
export function parseDuration(value: string): number | null {
  if (value === '0') return 0;
  const m = pattern.exec(value.trim());
  return m ? Math.round(Number(m[1]) * units[m[2]!]!) : null;
}
