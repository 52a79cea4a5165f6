// The web UI's JSON API under /api/v1/ (and the UI's own files): sessions from a cookie instead of Basic or bearer
// credentials, a CSRF token on every state-changing call, and the registry's policy checked on every call exactly
// as the OCI API checks it. It calls the registry's services and the browse port, never the storage.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { Logger } from 'pino';
import type { Action } from '../../auth/types.js';
import { uiContentSecurityPolicy } from '../../ui/assets.js';
import { csrfHeader, sameToken, SessionStore } from '../../ui/sessions.js';
import { requireName } from '../../oci/names.js';
import { apiError, RegistryError } from '../errors.js';
import { sendJson, type RequestInfo } from '../context.js';
import { apiV1Routes } from './api-v1-routes.js';
import { denied, type WebApiDeps } from './api-v1-context.js';

export type { WebApiDeps } from './api-v1-context.js';

export const apiPrefix = '/api/v1/';
const safeMethods = new Set(['GET', 'HEAD']);

export class WebApi {
  readonly sessions: SessionStore;

  constructor(private readonly deps: WebApiDeps) {
    const ui = deps.config.ui;
    this.sessions = new SessionStore({ ttl: ui.sessionTtl, maxAge: ui.sessionMaxAge, ...(deps.now ? { now: deps.now } : {}) });
  }

  /** Takes the request when it is for the UI or its API; false leaves it to the registry's router. */
  handle(req: IncomingMessage, res: ServerResponse, log: Logger, info: RequestInfo): boolean {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    if (path.startsWith(apiPrefix)) {
      info.route = 'api-v1';
      res.setHeader('Content-Security-Policy', uiContentSecurityPolicy);
      res.setHeader('Cache-Control', 'no-store');
      this.dispatch(req, res, log, info, path, new URLSearchParams(q === -1 ? '' : url.slice(q + 1))).catch((err: unknown) => this.fail(res, log, err));
      return true;
    }
    if (this.deps.assets?.serve(req, res, path)) {
      info.route = 'ui';
      return true;
    }
    return false;
  }

  private async dispatch(req: IncomingMessage, res: ServerResponse, log: Logger, info: RequestInfo, path: string, query: URLSearchParams): Promise<void> {
    const rest = path.slice('/api'.length);
    const route = apiV1Routes.find((r) => r.pattern.test(rest));
    if (!route) throw new RegistryError('UNSUPPORTED', 'no such endpoint', undefined, { status: 404 });
    const handler = route.methods[req.method ?? ''];
    if (!handler) {
      throw new RegistryError('UNSUPPORTED', `method ${req.method} not allowed here`, undefined, { headers: { Allow: Object.keys(route.methods).join(', ') } });
    }
    const params: Record<string, string> = {};
    for (const [key, value] of Object.entries(route.pattern.exec(rest)!.groups ?? {})) {
      try {
        params[key] = decodeURIComponent(value);
      } catch {
        throw new RegistryError('NAME_INVALID', 'malformed percent-encoding in the URL path');
      }
    }
    if (params.name !== undefined) info.repository = requireName(params.name);
    let session = this.sessions.find(req);
    if (session !== null && session.user !== null && this.deps.web.required && this.deps.web.credential(session.user) !== session.credential) {
      // The user was removed or their password changed since this login.
      this.sessions.end(session);
      session = null;
    }
    if (!safeMethods.has(req.method ?? '')) {
      // Without the token a page on another origin could have sent this with the user's cookie.
      const sent = req.headers[csrfHeader];
      if (session === null || typeof sent !== 'string' || !sameToken(sent, session.csrfToken)) {
        throw new RegistryError('DENIED', 'missing or wrong CSRF token: reload the page', { reason: 'csrf' });
      }
    }
    const { web } = this.deps;
    const principal = web.principal(session?.user ?? null);
    info.principal = principal;
    const secure = (req.socket as TLSSocket).encrypted === true || (this.deps.config.server.trustProxyHeaders && req.headers['x-forwarded-proto'] === 'https');
    const may = (repository: string, action: Action) => web.allows(principal, repository, action);
    await handler({
      req,
      res,
      log,
      info,
      params,
      query,
      deps: this.deps,
      sessions: this.sessions,
      session,
      principal,
      may,
      require(repository, action) {
        if (action === 'delete' && !this.deps.config.registry.deleteEnabled) throw new RegistryError('UNSUPPORTED', 'deletes are disabled on this registry');
        if (!may(repository, action)) throw denied(principal, `${action === 'pull' ? 'see' : action} ${repository}`);
      },
      setCookie: (s) => this.sessions.setCookie(res, s, { secure, path: '/' }),
    });
  }

  private fail(res: ServerResponse, log: Logger, err: unknown): void {
    const answer = apiError(err);
    if (answer === null) log.error({ err }, 'UI API request failed');
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const error = answer ?? new RegistryError('UNKNOWN', 'internal error; see the server log');
    sendJson(res, error.status, error.toJSON(), error.headers);
  }
}
