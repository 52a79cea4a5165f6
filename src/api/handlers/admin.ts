import { RegistryError } from '../../oci/errors.js';
import { eventOrigin, send, sendJson, type Handler } from '../context.js';
import { paginate, parsePage } from '../pagination.js';

/** Wharf's own admin API (not part of the OCI spec): repository usage and deletion, for admins. */
export const listRepositoryUsage: Handler = async ({ res, registry, query }) => {
  const page = parsePage(query, registry.config.registry.maxPageSize);
  const fetched = page.limit === 0 ? [] : await registry.metadata.listRepositoryUsage({ last: page.last, limit: page.limit + 1 });
  const { items, headers } = paginate('/admin/v1/repositories', page, fetched.map((r) => r.name));
  const repositories = fetched.slice(0, items.length).map((r) => ({ ...r, quota: registry.quotas.limitFor(r.name) }));
  sendJson(res, 200, { repositories }, headers);
};

export const getRepositoryUsage: Handler = async ({ res, registry, params }) => {
  const usage = await registry.metadata.repositoryUsage(params.name!);
  if (!usage) throw new RegistryError('NAME_UNKNOWN', 'repository name not known to registry', { name: params.name });
  sendJson(res, 200, { ...usage, quota: registry.quotas.limitFor(usage.name) });
};

export const deleteRepository: Handler = async (ctx) => {
  await ctx.registry.repositories.delete(ctx.params.name!, eventOrigin(ctx));
  send(ctx.res, 202, {});
};
