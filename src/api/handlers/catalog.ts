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
export const listCatalog: Handler = async ({ res, registry, query, access, info }) => {
  const page = parsePage(query, registry.config.registry.maxPageSize);
  const principal = info.principal ?? { name: null };
  const budget = catalogScanBudget(page.limit);
  const visible: string[] = [];
  let last = openCursor(page.last);
  let examined = 0;
  let exhausted = false;
  while (page.limit > 0 && visible.length <= page.limit && examined < budget) {
    const want = Math.min(Math.max(page.limit + 1, 100), budget - examined);
    const batch = await registry.metadata.listRepositories({ last, limit: want });
    for (const name of batch) {
      examined++;
      last = name;
      if ((principal.admin || access.allowed(principal, name, 'pull')) && visible.push(name) > page.limit) break;
    }
    if (batch.length < want) exhausted = true;
    if (exhausted) break;
  }
  if (visible.length > page.limit || exhausted || page.limit === 0 || last === undefined) {
    const { items, headers } = paginate('/v2/_catalog', page, visible);
    sendJson(res, 200, { repositories: items }, headers);
    return;
  }
  // The budget ran out first: what was found, and a Link from the last name examined.
  const cursor = visible[visible.length - 1] === last ? last : sealCursor(last);
  sendJson(res, 200, { repositories: visible }, nextPage('/v2/_catalog', page.limit, cursor));
};
