import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { Registry } from '../registry/registry.js';
import type { AccessController, Principal } from './access.js';

export interface RequestContext {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly registry: Registry;
  readonly access: AccessController;
  readonly log: Logger;
  readonly params: Readonly<Record<string, string>>;
  readonly query: URLSearchParams;
  /** Set once the request is authorized; for access logs and events. */
  principal?: Principal;
  /** Repository the request concerned, for access logs. */
  repository?: string;
}

export type Handler = (ctx: RequestContext) => Promise<void>;

export function send(res: ServerResponse, status: number, headers: Record<string, string | number>, body?: Buffer | string): void {
  const payload = body === undefined ? undefined : typeof body === 'string' ? Buffer.from(body) : body;
  // A HEAD answer states the length of the body a GET would carry, so callers may set Content-Length themselves.
  res.writeHead(status, { 'Content-Length': payload?.length ?? 0, ...headers });
  res.end(payload);
}

export function sendJson(res: ServerResponse, status: number, value: unknown, headers: Record<string, string | number> = {}): void {
  send(res, status, { 'Content-Type': 'application/json', ...headers }, JSON.stringify(value));
}
