// What every /api/v1 handler shares: its context, the refusal it answers with, and reading a small JSON body.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { Config } from '../../config/schema.js';
import type { BrowseStore } from '../../metadata/browse.js';
import type { RegistryServices } from '../../registry/services.js';
import type { Action, AuthPrincipal } from '../../auth/types.js';
import type { WebAccess } from '../../auth/web.js';
import type { UiAssets } from '../../ui/assets.js';
import type { Maintenance } from '../../ui/maintenance.js';
import type { Session, SessionStore } from '../../ui/sessions.js';
import { originOf, type EventOrigin } from '../../events/event.js';
import type { RequestInfo } from '../context.js';
import { RegistryError } from '../errors.js';

export interface WebApiDeps {
  readonly config: Config;
  readonly services: RegistryServices;
  readonly browse: BrowseStore;
  readonly web: WebAccess;
  readonly maintenance: Maintenance;
  /** null: serve the JSON API only (tests of the API without a built UI). */
  readonly assets: UiAssets | null;
  readonly now?: () => number;
}

/** What an /api/v1 handler gets: the caller, already identified, and what it may ask of the registry. */
export interface ApiV1Context {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly log: Logger;
  readonly info: RequestInfo;
  readonly params: Readonly<Record<string, string>>;
  readonly query: URLSearchParams;
  readonly deps: WebApiDeps;
  readonly sessions: SessionStore;
  readonly session: Session | null;
  readonly principal: AuthPrincipal;
  /** Throws 401 (anonymous) or 403 unless the caller may do `action` on `repository`. */
  require(repository: string, action: Action): void;
  may(repository: string, action: Action): boolean;
  /** Sets or clears the session cookie with the attributes this request needs (Secure under TLS). */
  setCookie(session: Session | null): void;
}

export type ApiV1Handler = (ctx: ApiV1Context) => Promise<void>;

export interface ApiV1Route {
  readonly pattern: RegExp;
  readonly methods: Readonly<Partial<Record<string, ApiV1Handler>>>;
}

export function denied(principal: AuthPrincipal, what: string): RegistryError {
  return principal.name === null
    ? new RegistryError('UNAUTHORIZED', `log in to ${what}`)
    : new RegistryError('DENIED', `you may not ${what}`);
}

/** Reads a small JSON request body (login, GC options); 400 for anything else. */
export async function readJson(req: IncomingMessage, limit = 4096): Promise<Record<string, unknown>> {
  if (!/^application\/json\b/i.test(String(req.headers['content-type'] ?? ''))) {
    throw new RegistryError('UNSUPPORTED', 'send the body as application/json', undefined, { status: 415 });
  }
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of req) {
    total += (chunk as Buffer).length;
    if (total > limit) throw new RegistryError('SIZE_INVALID', 'request body too large', undefined, { status: 413 });
    chunks.push(chunk as Buffer);
  }
  try {
    const value: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch {
    // answered below
  }
  throw new RegistryError('UNSUPPORTED', 'the body must be a JSON object', undefined, { status: 400 });
}

/** Who did it, for the events a change records (the UI's user, as the API's would be). */
export function eventOriginOf(ctx: ApiV1Context): EventOrigin {
  return originOf(ctx.req, ctx.info.remoteAddr, ctx.info.requestId, ctx.principal.name);
}
