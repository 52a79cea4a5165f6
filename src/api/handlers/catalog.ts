import { sendJson, type Handler } from '../context.js';
import { paginate, parsePage } from '../pagination.js';

/** Lists only repositories the caller may pull, reading on until the page is full. */
export const listCatalog: Handler = async ({ res, registry, query, access, info }) => {
  const page = parsePage(query, registry.config.registry.maxPageSize);
  const principal = info.principal ?? { name: null };
  const fetched: string[] = [];
  for (let last = page.last; page.limit > 0 && fetched.length <= page.limit; ) {
    const batch = await registry.metadata.listRepositories({ last, limit: page.limit + 1 });
    fetched.push(...(principal.admin ? batch : batch.filter((r) => access.allowed(principal, r, 'pull'))));
    if (batch.length < page.limit + 1) break;
    last = batch[batch.length - 1]!;
  }
  const { items, headers } = paginate('/v2/_catalog', page, fetched.slice(0, page.limit + 1));
  sendJson(res, 200, { repositories: items }, headers);
};
