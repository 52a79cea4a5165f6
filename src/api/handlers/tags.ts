import { sendJson, type Handler } from '../context.js';
import { paginate, parsePage } from '../pagination.js';

export const listTags: Handler = async ({ res, services, config, query, params }) => {
  const name = params.name!;
  const page = parsePage(query, config.registry.maxPageSize);
  const fetched = await services.tags.list(name, { last: page.last, limit: page.limit + 1 });
  const { items, headers } = paginate(`/v2/${name}/tags/list`, page, page.limit === 0 ? [] : fetched);
  sendJson(res, 200, { name, tags: items }, headers);
};
