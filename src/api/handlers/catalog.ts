import { sendJson, type Handler } from '../context.js';
import { paginate, parsePage } from '../pagination.js';

export const listCatalog: Handler = async ({ res, registry, query }) => {
  const page = parsePage(query, registry.config.registry.maxPageSize);
  const fetched = page.limit === 0 ? [] : await registry.metadata.listRepositories({ last: page.last, limit: page.limit + 1 });
  const { items, headers } = paginate('/v2/_catalog', page, fetched);
  sendJson(res, 200, { repositories: items }, headers);
};
