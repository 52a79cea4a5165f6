import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { hostname, userInfo } from 'node:os';
import type { EventAction } from './config.js';

/** Where a change came from: the request and the caller, as the access log knows them. */
export interface EventOrigin {
  readonly requestId: string;
  readonly addr: string;
  readonly host: string;
  readonly method: string;
  readonly userAgent: string;
  readonly actor: string | null;
}

export interface EventTarget {
  readonly repository: string;
  readonly digest: string;
  readonly mediaType?: string;
  readonly size?: number;
  readonly tag?: string;
}

/** The stored form of an event: Distribution's event fields, which every output format is derived from. */
export interface RegistryEvent {
  readonly id: string;
  readonly timestamp: string;
  readonly action: EventAction;
  readonly target: EventTarget;
  readonly request: { id: string; addr: string; host: string; method: string; useragent: string };
  readonly actor: { name?: string };
  readonly source: { addr: string; instanceID: string };
}

const instanceID = randomUUID();
const sourceHost = hostname();

export function originOf(req: IncomingMessage, remoteAddr: string, requestId: string, actor: string | null): EventOrigin {
  return {
    requestId,
    addr: remoteAddr,
    host: String(req.headers.host ?? ''),
    method: req.method ?? '',
    userAgent: String(req.headers['user-agent'] ?? ''),
    actor,
  };
}

/**
 * A change made with the `wharf` command on this host: its events reach the same webhooks as the API's, naming
 * the command and the system user who ran it (webhook consumers cannot tell a CLI deletion from none otherwise).
 */
export function commandOrigin(command: string, method: string): EventOrigin {
  let actor: string | null;
  try {
    actor = userInfo().username;
  } catch {
    actor = null; // a uid with no passwd entry (containers)
  }
  return { requestId: `cli-${randomUUID()}`, addr: '', host: sourceHost, method, userAgent: `wharf ${command}`, actor };
}

export function buildEvent(action: EventAction, target: EventTarget, origin: EventOrigin): RegistryEvent {
  return {
    id: randomUUID(),
    timestamp: new Date().toISOString(),
    action,
    target,
    request: { id: origin.requestId, addr: origin.addr, host: origin.host, method: origin.method, useragent: origin.userAgent },
    actor: origin.actor ? { name: origin.actor } : {},
    source: { addr: sourceHost, instanceID },
  };
}
