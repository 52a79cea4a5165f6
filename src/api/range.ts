import type { ByteRange } from '../registry/services.js';

export type RangeResult = { kind: 'full' } | { kind: 'partial'; range: ByteRange } | { kind: 'unsatisfiable' };

/** A single byte range (RFC 9110); several ranges or an unknown unit fall back to the whole content, as allowed. */
export function parseRange(header: string | undefined, size: number): RangeResult {
  if (!header) return { kind: 'full' };
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return { kind: 'full' };
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0 || size === 0) return { kind: 'unsatisfiable' };
    return { kind: 'partial', range: { start: Math.max(size - suffix, 0), end: size - 1 } };
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (start >= size || end < start) return { kind: 'unsatisfiable' };
  return { kind: 'partial', range: { start, end } };
}

/** The Range header of an upload holding `size` bytes: inclusive, and "0-0" for none, as clients expect. */
export function stagedRange(size: number): string {
  return `0-${Math.max(size - 1, 0)}`;
}

/** A PATCH chunk's Content-Range: 'start-end', inclusive (the distribution spec's form, without a unit). */
export function parseChunkRange(header: string | undefined): ByteRange | null | 'invalid' {
  if (header === undefined) return null;
  const m = /^(?:bytes )?(\d+)-(\d+)(?:\/(?:\d+|\*))?$/.exec(header.trim());
  if (!m) return 'invalid';
  const start = Number(m[1]);
  const end = Number(m[2]);
  return end < start || !Number.isSafeInteger(end) ? 'invalid' : { start, end };
}
