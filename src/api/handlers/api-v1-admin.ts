// The UI's storage page, for admins: usage per repository with its quota, totals and free space, GC (the dry run
// and a real pass), and webhook deliveries with their dead letters.
import { sendJson } from '../context.js';
import { RegistryError } from '../errors.js';
import { denied, readJson, type ApiV1Context, type ApiV1Handler } from './api-v1-context.js';

/** Repositories per page of the storage page; `next` is the `after` of the following page. */
const STORAGE_PAGE = 200;

function requireAdmin(ctx: ApiV1Context): void {
  if (!ctx.principal.admin) throw denied(ctx.principal, 'manage storage (admins only)');
}

export const getStorage: ApiV1Handler = async (ctx) => {
  requireAdmin(ctx);
  const { services, maintenance } = ctx.deps;
  const after = ctx.query.get('after') ?? undefined;
  // One more than a page tells whether another page follows without counting every repository.
  const fetched = await services.repositories.listUsage({ ...(after ? { last: after } : {}), limit: STORAGE_PAGE + 1 });
  const repositories = fetched.slice(0, STORAGE_PAGE);
  sendJson(ctx.res, 200, {
    totals: await maintenance.totals(),
    disk: await maintenance.disk(),
    lastGc: await maintenance.lastGc(),
    repositories,
    next: fetched.length > STORAGE_PAGE ? repositories[repositories.length - 1]!.name : null,
  });
};

export const runGc: ApiV1Handler = async (ctx) => {
  requireAdmin(ctx);
  const body = await readJson(ctx.req);
  if (body.dryRun !== undefined && typeof body.dryRun !== 'boolean') {
    throw new RegistryError('UNSUPPORTED', 'dryRun must be true or false', undefined, { status: 400 });
  }
  ctx.log.info({ dryRun: body.dryRun === true, user: ctx.principal.name }, 'GC started from the UI');
  sendJson(ctx.res, 200, await ctx.deps.maintenance.runGc(body.dryRun === true));
};

export const getWebhooks: ApiV1Handler = async (ctx) => {
  requireAdmin(ctx);
  const { endpoints, dead } = await ctx.deps.maintenance.deliveries();
  // Configured endpoints with nothing queued are listed too: an emptied queue is how a delivery shows as done.
  const known = new Set(endpoints.map((e) => e.endpoint));
  const idle = ctx.deps.config.webhooks.endpoints.filter((e) => !known.has(e.name)).map((e) => ({ endpoint: e.name, pending: 0, dead: 0 }));
  const all = [...endpoints, ...idle].sort((a, b) => (a.endpoint < b.endpoint ? -1 : a.endpoint > b.endpoint ? 1 : 0));
  sendJson(ctx.res, 200, { endpoints: all, dead });
};

export const retryWebhooks: ApiV1Handler = async (ctx) => {
  requireAdmin(ctx);
  const body = await readJson(ctx.req);
  const endpoint = body.endpoint ?? null;
  if (endpoint !== null && (typeof endpoint !== 'string' || endpoint.length > 255)) {
    throw new RegistryError('UNSUPPORTED', 'endpoint must be a webhook name', undefined, { status: 400 });
  }
  sendJson(ctx.res, 200, { requeued: await ctx.deps.maintenance.retryDead(endpoint) });
};
