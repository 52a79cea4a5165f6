import type { AuthAccessController } from '../../auth/types.js';
import { RegistryError } from '../errors.js';
import type { AccessController } from '../../auth/access.js';
import { eventOrigin, send, sendJson, type Handler } from '../context.js';
import { paginate, parsePage } from '../pagination.js';
import { readLimitedBody } from '../body.js';

/** Wharf's own admin API (not part of the OCI spec): repository usage and deletion, for admins. */
export const listRepositoryUsage: Handler = async ({ res, services, config, query }) => {
  const page = parsePage(query, config.registry.maxPageSize);
  const fetched = page.limit === 0 ? [] : await services.repositories.listUsage({ last: page.last, limit: page.limit + 1 });
  const { items, headers } = paginate('/admin/v1/repositories', page, fetched.map((r) => r.name));
  sendJson(res, 200, { repositories: fetched.slice(0, items.length) }, headers);
};

export const getRepositoryUsage: Handler = async ({ res, services, params }) => {
  sendJson(res, 200, await services.repositories.usage(params.name!));
};

export const deleteRepository: Handler = async (ctx) => {
  await ctx.services.repositories.delete(ctx.params.name!, eventOrigin(ctx));
  send(ctx.res, 202, {});
};

/** The login lockouts, when users log in with passwords (auth.htpasswd); none otherwise. */
function loginLocks(access: AccessController) {
  return (access as Partial<AuthAccessController>).locks;
}

export const listLoginLocks: Handler = async ({ res, access }) => {
  const locks = (await loginLocks(access)?.list()) ?? [];
  sendJson(res, 200, {
    locks: locks.map((l) => ({
      address: l.address,
      ...(l.user === undefined ? {} : { user: l.user }),
      lockedUntil: new Date(l.lockedUntil).toISOString(),
      retryAfterSeconds: l.retryAfterSeconds,
    })),
  });
};

function lockFilterParam(query: URLSearchParams, name: string, max: number): string | undefined {
  const value = query.get(name);
  if (value === null || value === '') return undefined;
  if (value.length > max) throw new RegistryError('UNSUPPORTED', `${name} is too long`, undefined, { status: 400 });
  return value;
}

export const deleteLoginLocks: Handler = async ({ res, access, query }) => {
  const user = lockFilterParam(query, 'user', 255);
  const address = lockFilterParam(query, 'address', 100);
  if (user === undefined && address === undefined) {
    throw new RegistryError('UNSUPPORTED', 'name the locks to lift: ?user=, ?address= or both', undefined, { status: 400 });
  }
  const unlocked = (await loginLocks(access)?.unlock({ ...(user === undefined ? {} : { user }), ...(address === undefined ? {} : { address }) })) ?? 0;
  sendJson(res, 200, { unlocked });
};

/** Maintenance mode: where it stands, and switching it (until the next restart; registry.readOnly persists it). */
export const getReadOnly: Handler = async ({ res, readOnly }) => {
  sendJson(res, 200, readOnly.current);
};

export const putReadOnly: Handler = async ({ req, res, readOnly, log, info }) => {
  let body: unknown;
  try {
    body = JSON.parse((await readLimitedBody(req, 1024)).toString('utf8'));
  } catch (err) {
    if (err instanceof RegistryError) throw err;
    body = undefined;
  }
  const enabled = (body as { enabled?: unknown } | null | undefined)?.enabled;
  if (typeof enabled !== 'boolean' || Object.keys(body as object).length !== 1) {
    throw new RegistryError('UNSUPPORTED', 'expected a JSON body {"enabled": true} or {"enabled": false}', undefined, { status: 400 });
  }
  const by = info.principal?.name ?? null;
  if (readOnly.set(enabled, by)) log.warn({ readOnly: enabled, user: by }, enabled ? 'read-only mode on: pushes and deletes refused' : 'read-only mode off');
  sendJson(res, 200, readOnly.current);
};
