// http: listener, TLS, debug listener and response headers.
import { headerValues } from './values.js';
import { booleanTo, dropped, durationTo, onlyWhen, refused, to, type Ctx, type Rule } from './rule.js';

const tlsVersions: Record<string, string> = { tls12: 'TLSv1.2', tls13: 'TLSv1.3' };

/** Access-Control-* and security headers have Wharf settings of their own; any other header Wharf cannot send. */
function header(name: string, values: unknown, ctx: Ctx): void {
  const list = headerValues(values);
  const one = list[0] ?? '';
  switch (name.toLowerCase()) {
    case 'access-control-allow-origin':
      ctx.set(['cors', 'enabled'], true);
      ctx.set(['cors', 'allowedOrigins'], list);
      return;
    case 'access-control-allow-methods':
      // Wharf answers preflights itself; OPTIONS needs no grant.
      ctx.set(['cors', 'allowedMethods'], list.map((m) => m.toUpperCase()).filter((m) => m !== 'OPTIONS'));
      return;
    case 'access-control-allow-headers':
      ctx.set(['cors', 'allowedHeaders'], list);
      return;
    case 'access-control-expose-headers':
      ctx.set(['cors', 'exposedHeaders'], list);
      return;
    case 'access-control-allow-credentials':
      ctx.set(['cors', 'allowCredentials'], one.toLowerCase() === 'true');
      return;
    case 'access-control-max-age':
      if (/^\d+$/.test(one)) ctx.set(['cors', 'maxAge'], `${one}s`);
      else ctx.fail(`expected a number of seconds, got ${JSON.stringify(one)}`);
      return;
    case 'x-content-type-options':
      if (one.toLowerCase() !== 'nosniff') ctx.fail('Wharf sends `X-Content-Type-Options: nosniff` or nothing (securityHeaders.contentTypeOptions)');
      return;
    case 'x-frame-options':
      if (one.toUpperCase() === 'DENY' || one.toUpperCase() === 'SAMEORIGIN') ctx.set(['securityHeaders', 'frameOptions'], one.toUpperCase());
      else ctx.fail('expected DENY or SAMEORIGIN (securityHeaders.frameOptions)');
      return;
    case 'referrer-policy':
      ctx.set(['securityHeaders', 'referrerPolicy'], one);
      return;
    case 'content-security-policy':
      ctx.set(['securityHeaders', 'contentSecurityPolicy'], list.join(', '));
      return;
    case 'strict-transport-security': {
      const maxAge = /max-age=(\d+)/i.exec(one)?.[1];
      if (maxAge === undefined) return ctx.fail('expected max-age=SECONDS');
      ctx.set(['securityHeaders', 'hsts', 'maxAge'], `${maxAge}s`);
      ctx.set(['securityHeaders', 'hsts', 'includeSubDomains'], /includesubdomains/i.test(one));
      ctx.set(['securityHeaders', 'hsts', 'preload'], /preload/i.test(one));
      return;
    }
    default:
      ctx.fail('Wharf sends no custom response headers: add it in the reverse proxy in front of Wharf');
  }
}

export const httpRules: Rule[] = [
  to('http.addr', 'server.addr', '`:5000` listens on every address, as in Distribution'),
  onlyWhen('http.net', ['tcp', null], 'Wharf listens on TCP only (no unix sockets)'),
  dropped('http.host', 'ignored: Wharf builds absolute URLs from the Host and X-Forwarded-* headers (server.trustProxyHeaders); set http.relativeurls for relative Location headers'),
  onlyWhen('http.prefix', ['/', null], 'Wharf serves /v2/ at the root: strip the prefix in the reverse proxy'),
  dropped('http.secret', 'not needed: Wharf keeps upload state in its database, so nothing is signed with it'),
  booleanTo('http.relativeurls', 'server.relativeUrls'),
  durationTo('http.draintimeout', 'server.shutdownTimeout'),
  to('http.tls.certificate', 'tls.certificate', 'and `tls.mode: files`, `tls.http.enabled: false` (Distribution listens on no plain-HTTP port beside TLS)'),
  to('http.tls.key', 'tls.key'),
  to('http.tls.minimumtls', 'tls.minVersion', '`tls1.2`, `tls1.3`; Wharf accepts nothing older than TLS 1.2', (v, ctx) => {
    const version = tlsVersions[String(v).toLowerCase().replace(/[^a-z0-9]/g, '')];
    if (!version) ctx.fail('Wharf accepts TLS 1.2 at the oldest: set tls1.2 or tls1.3');
    return version ?? v;
  }),
  refused('http.tls.clientcas', 'Wharf does not authenticate clients by certificate: use htpasswd or token auth, or verify client certificates in the reverse proxy'),
  refused('http.tls.clientauth', 'Wharf does not authenticate clients by certificate: verify them in the reverse proxy'),
  refused('http.tls.ciphersuites', "Wharf uses Node's default cipher suites (TLS 1.2+ AEAD): remove the list"),
  dropped('http.tls.letsencrypt.cachefile', 'Wharf keeps the ACME account and certificates in <dataDir>/acme; the cache file is not read'),
  to('http.tls.letsencrypt.email', 'tls.acme.email', 'and `tls.mode: acme`, `tls.acme.termsOfServiceAgreed: true` (Distribution agrees implicitly)'),
  to('http.tls.letsencrypt.hosts', 'tls.acme.domains', 'Wharf validates over HTTP-01: port 80 must reach `tls.http.addr`', (v) => (Array.isArray(v) ? v : [v])),
  to('http.tls.letsencrypt.directoryurl', 'tls.acme.directoryUrl'),
  to('http.debug.addr', 'metrics.addr', 'and `metrics.enabled: true`; Wharf serves /metrics, /healthz and /readyz there (no pprof)'),
  dropped('http.debug.prometheus.enabled', 'Wharf always serves Prometheus metrics on its metrics listener', [true, null]),
  onlyWhen('http.debug.prometheus.path', ['/metrics', null], 'Wharf serves Prometheus metrics at /metrics: point the scraper there'),
  { key: 'http.headers.*', status: 'mapped', wharf: 'cors.*, securityHeaders.*', note: 'Access-Control-* become `cors.*` (`cors.enabled: true`); X-Content-Type-Options, X-Frame-Options, Referrer-Policy, Content-Security-Policy, Strict-Transport-Security become `securityHeaders.*`; any other header is an error (add it in the proxy)', apply: (v, ctx) => header(ctx.path[ctx.path.length - 1]!, v, ctx) },
  dropped('http.http2.disabled', 'Wharf speaks HTTP/1.1', [true]),
  dropped('http.h2c.enabled', 'Wharf speaks HTTP/1.1 (no h2c)', [false, null]),
];

