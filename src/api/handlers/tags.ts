import { RegistryError } from '../../oci/errors.js';
import { sendJson, type Handler } from '../context.js';
import { paginate, parsePage } from '../pagination.js';

export const listTags: Handler = async ({ res, registry, query, params }) => {
  const name = params.name!;
  const page = parsePage(query, registry.config.registry.maxPageSize);
  const fetched = await registry.metadata.listTags(name, { last: page.last, limit: page.limit + 1 });
  if (fetched === null) throw new RegistryError('NAME_UNKNOWN', 'repository name not known to registry', { name });
  const { items, headers } = paginate(`/v2/${name}/tags/list`, page, page.limit === 0 ? [] : fetched);
  sendJson(res, 200, { name, tags: items }, headers);
};
