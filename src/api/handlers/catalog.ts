import { sendJson, type Handler } from '../context.js';
import { nextPage, openCursor, paginate, parsePage, sealCursor } from '../pagination.js';

/**
 * Repositories one catalog request may examine: a caller who may see few repositories would otherwise make every
 * request scan all the others. Past the budget the page ends early, with a Link to continue where it stopped.
 */
export function catalogScanBudget(limit: number): number {
  return Math.max(10 * limit, 2000);
}

/** Lists only repositories the caller may pull, reading on until the page is full or the scan budget is spent. */
export const listCatalog: Handler = async ({ res, services, config, query, access, info }) => {
  const page = parsePage(query, config.registry.maxPageSize);
  const principal = info.principal ?? { name: null };
  const visible = (name: string): boolean => principal.admin === true || access.allowed(principal, name, 'pull');
  const scan = await services.repositories.scan(openCursor(page.last), page.limit, catalogScanBudget(page.limit), visible);
  const { names, last } = scan;
  if (names.length > page.limit || scan.exhausted || page.limit === 0 || last === undefined) {
    const { items, headers } = paginate('/v2/_catalog', page, names);
    sendJson(res, 200, { repositories: items }, headers);
    return;
  }
  // The budget ran out first: what was found, and a Link from the last name examined.
  const cursor = names[names.length - 1] === last ? last : sealCursor(last);
  sendJson(res, 200, { repositories: names }, nextPage('/v2/_catalog', page.limit, cursor));
};
