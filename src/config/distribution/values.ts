// Distribution's value forms (Go durations, header value lists, YAML scalars) turned into Wharf's.

const goUnits: Record<string, number> = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** A Go duration ('1h30m', '300ms', '10s') or a bare number of nanoseconds, as Wharf writes durations; null if neither. */
export function goDuration(value: unknown): string | null {
  let ms: number;
  if (typeof value === 'number' && Number.isFinite(value) && value >= 0) ms = value / 1e6;
  else if (typeof value === 'string' && /^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/.test(value.trim())) {
    ms = 0;
    for (const [, n, unit] of value.trim().matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)) ms += Number(n) * goUnits[unit!]!;
  } else if (value === '0') ms = 0;
  else return null;
  ms = Math.round(ms);
  if (ms === 0) return '0';
  for (const [unit, size] of [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1000]] as const) {
    if (ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}

/** A header's values as Distribution holds them (a list, or one string), each comma-separated value on its own. */
export function headerValues(value: unknown): string[] {
  const list = Array.isArray(value) ? value : value === null || value === undefined ? [] : [value];
  return list.flatMap((v) => String(v).split(',')).map((v) => v.trim()).filter((v) => v !== '');
}

export function asList(value: unknown): unknown[] {
  return Array.isArray(value) ? value : value === null || value === undefined ? [] : [value];
}

/** Distribution reads booleans leniently from YAML and the environment ("true", True). */
export function asBoolean(value: unknown): boolean | unknown {
  if (typeof value === 'string' && /^(true|false)$/i.test(value)) return value.toLowerCase() === 'true';
  return value;
}
