// Security headers on every API response: HSTS (over TLS only), nosniff, frame and referrer policies, a CSP.
import type { ServerResponse } from 'node:http';
import { z } from 'zod';
import { duration, section } from '../config-fields/fields.js';

const headerValue = (fallback: string) => z.string().regex(/^[\t\x20-\x7e]*$/, 'printable ASCII only (no line breaks)').default(fallback);

export const defaultContentSecurityPolicy = "default-src 'none'; frame-ancestors 'none'; sandbox";

export const securityHeadersConfigSchema = section({
  enabled: z.boolean().default(true).describe('Send the headers below on API responses.'),
  hsts: z
    .object({
      enabled: z.boolean().default(true).describe('Send Strict-Transport-Security on responses served over TLS (never over plain HTTP).'),
      maxAge: duration('180d').describe('How long browsers remember to use HTTPS only (max-age).'),
      includeSubDomains: z.boolean().default(true).describe('Apply HSTS to every subdomain as well.'),
      preload: z.boolean().default(false).describe('Add `preload` (needs maxAge of at least 365d and includeSubDomains; read https://hstspreload.org first: hard to undo).'),
    })
    .strict()
    .superRefine((h, ctx) => {
      if (h.preload && (h.maxAge < 365 * 86_400_000 || !h.includeSubDomains)) {
        ctx.addIssue({ code: 'custom', path: ['preload'], message: 'preload needs maxAge of at least 365d and includeSubDomains: true' });
      }
    })
    .prefault({} as never)
    .describe('HTTP Strict Transport Security.'),
  contentTypeOptions: z.boolean().default(true).describe('Send `X-Content-Type-Options: nosniff`.'),
  frameOptions: z.enum(['DENY', 'SAMEORIGIN', 'off']).default('DENY').describe('X-Frame-Options; `off` leaves it out.'),
  referrerPolicy: headerValue('no-referrer').describe('Referrer-Policy; empty leaves it out.'),
  contentSecurityPolicy: headerValue(defaultContentSecurityPolicy).describe('Content-Security-Policy for API responses; empty leaves it out.'),
}).describe('Security headers.');

export type SecurityHeadersConfig = z.output<typeof securityHeadersConfigSchema>;

interface Prepared {
  readonly always: readonly (readonly [string, string])[];
  readonly hsts: string | null;
}

const prepared = new WeakMap<SecurityHeadersConfig, Prepared>();

function prepare(config: SecurityHeadersConfig): Prepared {
  let p = prepared.get(config);
  if (p) return p;
  const always: [string, string][] = [];
  let hsts: string | null = null;
  if (config.enabled) {
    if (config.contentTypeOptions) always.push(['X-Content-Type-Options', 'nosniff']);
    if (config.frameOptions !== 'off') always.push(['X-Frame-Options', config.frameOptions]);
    if (config.referrerPolicy.trim()) always.push(['Referrer-Policy', config.referrerPolicy.trim()]);
    if (config.contentSecurityPolicy.trim()) always.push(['Content-Security-Policy', config.contentSecurityPolicy.trim()]);
    if (config.hsts.enabled) {
      hsts = `max-age=${Math.floor(config.hsts.maxAge / 1000)}`;
      if (config.hsts.includeSubDomains) hsts += '; includeSubDomains';
      if (config.hsts.preload) hsts += '; preload';
    }
  }
  p = { always, hsts };
  prepared.set(config, p);
  return p;
}

/**
 * Sets the configured headers on `res` (before anything is written). HSTS only when the request arrived over TLS
 * (`tls`): browsers ignore it over plain HTTP, and behind a TLS proxy the proxy should send it.
 */
export function applySecurityHeaders(res: ServerResponse, connection: { tls: boolean }, config: SecurityHeadersConfig): void {
  const p = prepare(config);
  for (const [name, value] of p.always) res.setHeader(name, value);
  if (connection.tls && p.hsts !== null) res.setHeader('Strict-Transport-Security', p.hsts);
}
