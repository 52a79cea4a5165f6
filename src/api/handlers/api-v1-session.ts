// Logging in and out of the web UI. A login goes through the registry's own password check and lockout (the same
// counters the API's Basic logins use), and replaces the browser's session so an id set before login is worthless.
import { tooManyMessage } from '../../auth/login.js';
import { sendJson } from '../context.js';
import { RegistryError } from '../errors.js';
import { readJson, type ApiV1Context, type ApiV1Handler } from './api-v1-context.js';

function publicHost(ctx: ApiV1Context): string {
  const configured = ctx.deps.config.ui.publicHost;
  if (configured !== undefined) return configured;
  const host = ctx.req.headers.host ?? '';
  return /^[A-Za-z0-9.:[\]-]{1,255}$/.test(host) ? host : 'localhost';
}

function describe(ctx: ApiV1Context, user: string | null, csrfToken: string) {
  const principal = ctx.deps.web.principal(user);
  return {
    user,
    admin: principal.admin,
    csrfToken,
    title: ctx.deps.config.ui.title,
    publicHost: publicHost(ctx),
    authRequired: ctx.deps.web.required,
    canLogin: ctx.deps.web.login !== null,
    mayBrowse: ctx.deps.web.mayBrowse(principal),
    deleteEnabled: ctx.deps.config.registry.deleteEnabled,
  };
}

/** Who the browser is, with its CSRF token; a browser without a session gets an anonymous one here. */
export const getSession: ApiV1Handler = async (ctx) => {
  let session = ctx.session;
  if (session === null) {
    session = ctx.sessions.create(null);
    ctx.setCookie(session);
  }
  sendJson(ctx.res, 200, describe(ctx, session.user, session.csrfToken));
};

export const login: ApiV1Handler = async (ctx) => {
  const check = ctx.deps.web.login;
  if (check === null) throw new RegistryError('UNSUPPORTED', 'this registry has no users to log in as (auth.mode is none or tokens come from elsewhere)');
  const body = await readJson(ctx.req);
  const { username, password } = body;
  if (typeof username !== 'string' || typeof password !== 'string' || username === '' || username.length > 255 || password.length > 1024) {
    throw new RegistryError('UNSUPPORTED', 'give username and password as strings', undefined, { status: 400 });
  }
  const result = await check(ctx.req, username, password);
  if (!result.ok) {
    if (result.reason === 'invalid') throw new RegistryError('UNAUTHORIZED', 'invalid username or password');
    throw new RegistryError('TOOMANYREQUESTS', tooManyMessage(result.reason), undefined, { headers: { 'Retry-After': String(result.retryAfterSeconds) } });
  }
  if (ctx.session) ctx.sessions.end(ctx.session);
  const session = ctx.sessions.create(result.principal.name, ctx.deps.web.credential(username));
  ctx.setCookie(session);
  ctx.log.info({ user: result.principal.name }, 'UI login');
  sendJson(ctx.res, 200, describe(ctx, session.user, session.csrfToken));
};

export const logout: ApiV1Handler = async (ctx) => {
  if (ctx.session) ctx.sessions.end(ctx.session);
  ctx.setCookie(null);
  sendJson(ctx.res, 200, { user: null });
};
