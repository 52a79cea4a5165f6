// The UI's storage page, for admins: usage per repository with its quota, totals and free space, GC (the dry run
// and a real pass), and webhook deliveries with their dead letters.
import { sendJson } from '../context.js';
import { RegistryError } from '../errors.js';
import { denied, readJson, type ApiV1Context, type ApiV1Handler } from './api-v1-context.js';

function requireAdmin(ctx: ApiV1Context): void {
  if (!ctx.principal.admin) throw denied(ctx.principal, 'manage storage (admins only)');
}

export const getStorage: ApiV1Handler = async (ctx) => {
  requireAdmin(ctx);
  const { services, maintenance } = ctx.deps;
  const after = ctx.query.get('after') ?? undefined;
  const repositories = await services.repositories.listUsage({ ...(after ? { last: after } : {}), limit: 200 });
  sendJson(ctx.res, 200, {
    totals: await maintenance.totals(),
    disk: await maintenance.disk(),
    lastGc: await maintenance.lastGc(),
    repositories,
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
  sendJson(ctx.res, 200, await ctx.deps.maintenance.deliveries());
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
