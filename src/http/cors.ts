// Cross-origin requests from browser UIs: CORS headers for allowed origins, and preflights answered here, before
// authentication (a preflight never carries credentials; answering it 401 as Distribution does breaks browser UIs).
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { duration } from '../config-fields/fields.js';
import { RegistryError } from './oci-errors.js';
import { sendJson } from './send.js';

/** `*`, an exact origin (`https://ui.example.com`, `http://localhost:8080`) or one subdomain wildcard (`https://*.example.com`). */
const originPattern = /^(\*|https?:\/\/(\*\.)?([A-Za-z0-9-]+\.)*[A-Za-z0-9-]+(:\d{1,5})?|https?:\/\/\[[0-9A-Fa-f:.]+\](:\d{1,5})?)$/;
const token = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const methods = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;
// OPTIONS is accepted in the list (Distribution setups and UI guides name it) though browsers never ask permission for it.
const acceptedMethods = [...methods, 'OPTIONS'] as const;

export const defaultExposedHeaders = [
  'Docker-Content-Digest',
  'Docker-Upload-UUID',
  'Location',
  'Range',
  'Link',
  'OCI-Subject',
  'OCI-Filters-Applied',
  'Docker-Distribution-API-Version',
  'WWW-Authenticate',
  'X-Request-Id',
  'Content-Range',
  'OCI-Chunk-Min-Length',
];

// Also what browser UIs send besides the API's own headers: joxit's docker-registry-ui documents Cache-Control,
// and fetch wrappers add Pragma and X-Requested-With; a preflight listing one header not allowed fails the request.
export const defaultAllowedHeaders = [
  'Authorization',
  'Accept',
  'Content-Type',
  'Content-Range',
  'Range',
  'If-None-Match',
  'Docker-Content-Digest',
  'X-Request-Id',
  'Cache-Control',
  'Pragma',
  'X-Requested-With',
];

export const corsConfigSchema = z
  .object({
    enabled: z.boolean().default(false).describe('Answer cross-origin requests from browsers (off: no CORS headers, preflights reach the API).'),
    allowedOrigins: z
      .array(z.string().regex(originPattern, "expected '*', an origin such as https://ui.example.com, or https://*.example.com"))
      .default([])
      .describe('Origins allowed to call the API: exact origins (scheme://host[:port]), `https://*.example.com` for any subdomain, or `*` for any origin.'),
    allowedMethods: z.array(z.enum(acceptedMethods)).default([...methods]).describe('Methods a cross-origin request may use (Access-Control-Allow-Methods).'),
    allowedHeaders: z
      .array(z.string().regex(token, 'expected a header name'))
      .default(defaultAllowedHeaders)
      .describe('Request headers a cross-origin request may send (`*` allows whatever the browser asks for).'),
    exposedHeaders: z
      .array(z.string().regex(token, 'expected a header name'))
      .default(defaultExposedHeaders)
      .describe('Response headers scripts may read (Access-Control-Expose-Headers).'),
    allowCredentials: z
      .boolean()
      .default(false)
      .describe('Let browsers send cookies and HTTP authentication they hold (Access-Control-Allow-Credentials). Not with origin `*`.'),
    maxAge: duration('10m').describe('How long browsers may cache a preflight answer (Access-Control-Max-Age).'),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.allowCredentials && c.allowedOrigins.includes('*')) {
      ctx.addIssue({ code: 'custom', path: ['allowCredentials'], message: "cannot be combined with allowedOrigins '*': list the origins" });
    }
  })
  .prefault({} as never)
  .describe('CORS for browser UIs.');

export type CorsConfig = z.output<typeof corsConfigSchema>;

interface Matcher {
  readonly any: boolean;
  readonly exact: ReadonlySet<string>;
  /** Subdomain wildcards: origin must start with `prefix` (scheme://) and end with `suffix` (.example.com[:port]). */
  readonly wildcards: readonly { prefix: string; suffix: string }[];
  readonly methods: string;
  readonly headers: string | null; // null: reflect Access-Control-Request-Headers
  readonly exposed: string;
  readonly maxAge: string;
  /** The response depends on Origin (not a plain `*`): caches must key on it. */
  readonly varies: boolean;
}

const matchers = new WeakMap<CorsConfig, Matcher>();
const label = /^[a-z0-9-]+(\.[a-z0-9-]+)*$/;

function matcherFor(config: CorsConfig): Matcher {
  let m = matchers.get(config);
  if (m) return m;
  const exact = new Set<string>();
  const wildcards: { prefix: string; suffix: string }[] = [];
  let any = false;
  for (const raw of config.allowedOrigins) {
    const origin = raw.toLowerCase();
    if (origin === '*') any = true;
    else if (origin.includes('://*.')) {
      const at = origin.indexOf('://*.');
      wildcards.push({ prefix: origin.slice(0, at + 3), suffix: origin.slice(at + 4) });
    } else exact.add(origin);
  }
  const wildcardHeaders = config.allowedHeaders.includes('*');
  m = {
    any,
    exact,
    wildcards,
    methods: config.allowedMethods.join(', '),
    headers: wildcardHeaders ? null : config.allowedHeaders.join(', '),
    exposed: config.exposedHeaders.join(', '),
    maxAge: String(Math.floor(config.maxAge / 1000)),
    varies: !(any && !config.allowCredentials),
  };
  matchers.set(config, m);
  return m;
}

function allowed(m: Matcher, origin: string): boolean {
  if (m.any) return true;
  const o = origin.toLowerCase();
  if (m.exact.has(o)) return true;
  for (const { prefix, suffix } of m.wildcards) {
    if (o.length > prefix.length + suffix.length && o.startsWith(prefix) && o.endsWith(suffix)) {
      const sub = o.slice(prefix.length, o.length - suffix.length);
      // sub is what '*' stands for: one or more DNS labels (the port, if any, is part of the suffix).
      if (label.test(sub)) return true;
    }
  }
  return false;
}

/** Adds names to the Vary header without repeating any already there. */
export function appendVary(res: ServerResponse, ...names: string[]): void {
  const current = res.getHeader('Vary');
  const list = (Array.isArray(current) ? current.join(',') : current === undefined ? '' : String(current))
    .split(',')
    .map((v) => v.trim())
    .filter(Boolean);
  if (list.includes('*')) return;
  const lower = new Set(list.map((v) => v.toLowerCase()));
  for (const name of names) if (!lower.has(name.toLowerCase())) list.push(name);
  res.setHeader('Vary', list.join(', '));
}

/**
 * Call first for every API request. Sets CORS headers when the request comes from an allowed origin, and answers a
 * preflight (OPTIONS with Origin and Access-Control-Request-Method) entirely: 204 for an allowed origin, 403 DENIED
 * with the usual error JSON naming the origin for another; no authentication is involved. Returns true when the request has been answered; false when it should
 * continue to the API (also for every request when CORS is disabled, and for same-origin or non-browser requests).
 */
export function handleCors(req: IncomingMessage, res: ServerResponse, config: CorsConfig): boolean {
  if (!config.enabled) return false;
  const m = matcherFor(config);
  const originHeader = req.headers.origin;
  const preflight = req.method === 'OPTIONS' && originHeader !== undefined && req.headers['access-control-request-method'] !== undefined;
  if (m.varies) appendVary(res, 'Origin');
  if (originHeader === undefined) return false;
  const ok = allowed(m, originHeader);
  const allowOrigin = m.any && !config.allowCredentials ? '*' : originHeader;
  if (preflight) {
    appendVary(res, 'Access-Control-Request-Method', 'Access-Control-Request-Headers');
    if (!ok) {
      const refused = new RegistryError('DENIED', `origin ${originHeader.slice(0, 200)} is not in cors.allowedOrigins`);
      sendJson(res, refused.status, refused.toJSON());
      return true;
    }
    res.setHeader('Access-Control-Allow-Origin', allowOrigin);
    if (config.allowCredentials) res.setHeader('Access-Control-Allow-Credentials', 'true');
    res.setHeader('Access-Control-Allow-Methods', m.methods);
    const requested = req.headers['access-control-request-headers'];
    const headers = m.headers ?? (typeof requested === 'string' ? requested.split(',').map((h) => h.trim()).filter((h) => token.test(h)).join(', ') : '');
    if (headers) res.setHeader('Access-Control-Allow-Headers', headers);
    res.setHeader('Access-Control-Max-Age', m.maxAge);
    res.writeHead(204).end();
    return true;
  }
  if (!ok) return false;
  res.setHeader('Access-Control-Allow-Origin', allowOrigin);
  if (config.allowCredentials) res.setHeader('Access-Control-Allow-Credentials', 'true');
  if (m.exposed) res.setHeader('Access-Control-Expose-Headers', m.exposed);
  return false;
}
