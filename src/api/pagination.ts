import { RegistryError } from '../oci/errors.js';

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

/**
 * Cuts a listing fetched with one extra row (limit + 1) to the page, with an RFC 8288 Link header to the next page
 * only when that extra row shows there is one.
 */
export function paginate(path: string, page: PageRequest, fetched: readonly string[]): { items: string[]; headers: Record<string, string> } {
  if (fetched.length <= page.limit) return { items: [...fetched], headers: {} };
  const items = fetched.slice(0, page.limit);
  const last = items[items.length - 1]!;
  return { items, headers: { Link: `<${path}?n=${page.limit}&last=${encodeURIComponent(last)}>; rel="next"` } };
}
