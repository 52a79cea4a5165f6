import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { originOf, type EventOrigin } from '../events/event.js';
import type { Config } from '../config/schema.js';
import type { RegistryServices } from '../registry/services.js';
import type { ReadOnlySwitch } from '../registry/read-only.js';
import type { AccessController, Principal } from '../auth/access.js';

/** What the access log, the metrics and events learn about a request while it is handled. */
export interface RequestInfo {
  readonly requestId: string;
  /** Taken at arrival: once the response is done, req.socket may already be gone. */
  readonly remoteAddr: string;
  /** The client's address alone, through trusted proxies (auth.lockout.trustedProxies): what per-client caps key on. */
  readonly clientAddr: string;
  route?: string;
  /** pull, push, delete, catalog or base: what the request asked to do, for access logs and audits. */
  action?: string;
  repository?: string;
  principal?: Principal;
}

export interface RequestContext {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly config: Config;
  /** The registry as handlers see it: services only, never the metadata store or the blob driver. */
  readonly services: RegistryServices;
  readonly access: AccessController;
  /** Maintenance mode, which admins switch at run time. */
  readonly readOnly: ReadOnlySwitch;
  readonly log: Logger;
  readonly params: Readonly<Record<string, string>>;
  readonly query: URLSearchParams;
  readonly info: RequestInfo;
}

export function eventOrigin(ctx: RequestContext): EventOrigin {
  return originOf(ctx.req, ctx.info.remoteAddr, ctx.info.requestId, ctx.info.principal?.name ?? null);
}

export type Handler = (ctx: RequestContext) => Promise<void>;

// The response helpers live in src/http so health and auth answer the same way without importing the API.
export { send, sendJson } from '../http/send.js';
