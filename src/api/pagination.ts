import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { RegistryError } from './errors.js';

export interface PageRequest {
  readonly limit: number;
  readonly last?: string;
}

export function parsePage(query: URLSearchParams, maxPageSize: number): PageRequest {
  const n = query.get('n');
  const last = query.get('last') ?? undefined;
  if (n === null || n === '') return { limit: maxPageSize, last };
  if (!/^\d+$/.test(n)) throw new RegistryError('UNSUPPORTED', 'n must be a non-negative integer', { n: n.slice(0, 50) }, { status: 400 });
  return { limit: Math.min(Number(n), maxPageSize), last };
}

/** The RFC 8288 Link header to the page after `last`. */
export function nextPage(path: string, limit: number, last: string): Record<string, string> {
  return { Link: `<${path}?n=${limit}&last=${encodeURIComponent(last)}>; rel="next"` };
}

/**
 * Cuts a listing fetched with one extra row (limit + 1) to the page, with an RFC 8288 Link header to the next page
 * only when that extra row shows there is one.
 */
export function paginate(path: string, page: PageRequest, fetched: readonly string[]): { items: string[]; headers: Record<string, string> } {
  if (fetched.length <= page.limit) return { items: [...fetched], headers: {} };
  const items = fetched.slice(0, page.limit);
  return { items, headers: nextPage(path, page.limit, items[items.length - 1]!) };
}

// A listing that stops early at a name the caller may not see continues from an opaque cursor instead: the name in
// the Link header would tell the caller that the hidden repository exists. Repository names never contain '~', so a
// cursor cannot be mistaken for one. The key lives only in this process: after a restart a client starts over.
const cursorKey = randomBytes(32);
const cursorPrefix = '~';

export function sealCursor(name: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', cursorKey, iv);
  const sealed = Buffer.concat([cipher.update(name, 'utf8'), cipher.final()]);
  return cursorPrefix + Buffer.concat([iv, cipher.getAuthTag(), sealed]).toString('base64url');
}

/** The name to continue after: `last` as given, or what a cursor from sealCursor() holds. */
export function openCursor(last: string | undefined): string | undefined {
  if (last === undefined || !last.startsWith(cursorPrefix)) return last;
  const raw = Buffer.from(last.slice(cursorPrefix.length), 'base64url');
  try {
    const decipher = createDecipheriv('aes-256-gcm', cursorKey, raw.subarray(0, 12));
    decipher.setAuthTag(raw.subarray(12, 28));
    return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
  } catch {
    throw new RegistryError('UNSUPPORTED', 'unknown or expired listing cursor; list again from the start', undefined, { status: 400 });
  }
}
