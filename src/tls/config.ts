// Configuration of TLS: certificates from files or from an ACME CA, and the plain-HTTP listener beside the HTTPS one.
import { z } from 'zod';
import { duration, section } from '../config-fields/fields.js';

const hostPort = /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]*):\d{1,5}$/;
/** A DNS name a public ACME CA can validate over HTTP-01 (no wildcards: those need DNS-01). */
const dnsName = /^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

export const letsEncryptProduction = 'https://acme-v02.api.letsencrypt.org/directory';
export const letsEncryptStaging = 'https://acme-staging-v02.api.letsencrypt.org/directory';

export const acmeConfigSchema = section({
  domains: z
    .array(z.string().regex(dnsName, 'expected a DNS name such as registry.example.com (no wildcards: HTTP-01 cannot validate them)'))
    .default([])
    .describe('Names the certificate covers (the first is its common name); each must reach this server on port 80 for HTTP-01.'),
  email: z.email().optional().describe('Contact address registered with the ACME account (expiry and incident notices).'),
  directoryUrl: z
    .url({ protocol: /^https?$/ })
    .default(letsEncryptProduction)
    .describe(`ACME directory. Let's Encrypt production by default; staging (untrusted certificates, generous rate limits): ${letsEncryptStaging}.`),
  termsOfServiceAgreed: z.boolean().default(false).describe("Agree to the CA's terms of service (required: read them first)."),
  keyType: z.enum(['ecdsa', 'rsa']).default('ecdsa').describe('Certificate key: ECDSA P-256 or RSA 2048. A new key is made for every certificate.'),
  renewBefore: duration('30d').describe('Renew when less than this remains before the certificate expires.'),
  checkInterval: duration('12h').describe('How often the certificate expiry is checked.'),
  initialBackoff: duration('10m').describe('Wait after a failed renewal before the next attempt; doubles on each failure (the current certificate stays in use).'),
  maxBackoff: duration('6h').describe('Longest wait between failed renewal attempts.'),
  caBundle: z
    .string()
    .min(1)
    .optional()
    .describe('PEM file of extra CA certificates trusted for the ACME directory itself (a private CA such as step-ca; pebble in tests).'),
  eabKeyId: z.string().min(1).optional().describe('External account binding key id, for CAs that require one (ZeroSSL, Google).'),
  eabHmacKey: z.string().min(1).optional().describe('External account binding HMAC key (base64url), with `eabKeyId`.'),
});

export const tlsConfigSchema = z
  .object({
    mode: z
      .enum(['none', 'files', 'acme'])
      .default('none')
      .describe(
        "`none`: plain HTTP (terminate TLS in a proxy); `files`: certificate and key from PEM files, reloaded when they change; `acme`: certificates obtained and renewed automatically (Let's Encrypt by default), kept in `<dataDir>/acme`.",
      ),
    certificate: z.string().min(1).optional().describe('PEM certificate chain, leaf first (mode `files`). Reloaded when it changes.'),
    key: z.string().min(1).optional().describe('PEM private key, unencrypted (mode `files`). Reloaded when it changes.'),
    minVersion: z.enum(['TLSv1.2', 'TLSv1.3']).default('TLSv1.2').describe('Oldest TLS version accepted.'),
    http: section({
      enabled: z.boolean().default(true).describe('With TLS on, also listen for plain HTTP (required by `acme`: it answers the HTTP-01 challenges).'),
      addr: z.string().regex(hostPort, 'expected HOST:PORT, e.g. 0.0.0.0:80').default('0.0.0.0:80').describe('Plain-HTTP listener address.'),
      redirect: z
        .boolean()
        .default(true)
        .describe('Answer plain-HTTP requests with a 308 redirect to HTTPS; false serves the API over plain HTTP there as well.'),
      httpsPort: z
        .number()
        .int()
        .min(0)
        .max(65535)
        .default(0)
        .describe('Port put in redirect locations (omitted when 443); 0: the port of `server.addr`. Set it when a port mapping sits in front.'),
    }).describe('Plain-HTTP listener used when TLS is on: ACME challenges and redirects.'),
    acme: acmeConfigSchema.describe('Automatic certificates (mode `acme`).'),
  })
  .strict()
  .superRefine((tls, ctx) => {
    if (tls.mode === 'files') {
      if (!tls.certificate) ctx.addIssue({ code: 'custom', path: ['certificate'], message: 'required when mode is files' });
      if (!tls.key) ctx.addIssue({ code: 'custom', path: ['key'], message: 'required when mode is files' });
    }
    if (tls.mode === 'acme') {
      if (tls.acme.domains.length === 0) ctx.addIssue({ code: 'custom', path: ['acme', 'domains'], message: 'at least one domain is required when mode is acme' });
      if (!tls.acme.termsOfServiceAgreed) {
        ctx.addIssue({ code: 'custom', path: ['acme', 'termsOfServiceAgreed'], message: "must be true when mode is acme (read the CA's terms of service first)" });
      }
      if (!tls.http.enabled) ctx.addIssue({ code: 'custom', path: ['http', 'enabled'], message: 'must be true when mode is acme (HTTP-01 challenges arrive there)' });
      if ((tls.acme.eabKeyId === undefined) !== (tls.acme.eabHmacKey === undefined)) {
        ctx.addIssue({ code: 'custom', path: ['acme', 'eabHmacKey'], message: 'eabKeyId and eabHmacKey go together' });
      }
    }
  })
  .prefault({} as never)
  .describe('TLS on the API listener: certificates from files or automatic (ACME), plus the plain-HTTP listener for challenges and redirects.');

export type TlsConfig = z.output<typeof tlsConfigSchema>;
export type AcmeConfig = z.output<typeof acmeConfigSchema>;
