// CORS, security headers, the plain-HTTP listener (ACME challenges, redirect to HTTPS) and their config schemas,
// exercised through real node:http servers.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { appendVary, corsConfigSchema, defaultExposedHeaders, handleCors, type CorsConfig } from '../../../src/http/cors.js';
import { applySecurityHeaders, securityHeadersConfigSchema, type SecurityHeadersConfig } from '../../../src/http/security-headers.js';
import { configLeaves } from '../../../src/config/introspect.js';
import { Http01ChallengeResponder } from '../../../src/tls/challenges.js';
import { tlsConfigSchema } from '../../../src/tls/config.js';
import { createPlainHttpHandler, type RequestHandler } from '../../../src/tls/redirect.js';
import { close, listen, send } from './support.js';

/** A server whose handler can be swapped per test. */
function harness(): { start(): Promise<void>; stop(): Promise<void>; use(h: RequestHandler): void; port(): number } {
  let handler: RequestHandler = (_req, res) => res.end();
  let server: Server | undefined;
  let port = 0;
  return {
    async start() {
      server = createServer((req, res) => handler(req, res));
      port = await listen(server);
    },
    async stop() {
      if (server) await close(server);
    },
    use(h) {
      handler = h;
    },
    port: () => port,
  };
}

/** The registry API stand-in: everything needs credentials, as with auth enabled. */
function fakeApi(req: IncomingMessage, res: ServerResponse): void {
  if (!req.headers.authorization) {
    res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="wharf"', 'Content-Type': 'application/json' }).end('{"errors":[{"code":"UNAUTHORIZED"}]}');
    return;
  }
  res.writeHead(200, { 'Docker-Content-Digest': 'sha256:abc', 'Content-Type': 'application/json' }).end('{}');
}

const h = harness();
before(() => h.start());
after(() => h.stop());

describe('CORS', () => {
  const corsApi = (config: CorsConfig): RequestHandler => (req, res) => {
    if (handleCors(req, res, config)) return;
    fakeApi(req, res);
  };
  const preflight = (origin: string, method = 'DELETE', headers = 'authorization, content-type') => ({
    method: 'OPTIONS',
    path: '/v2/library/app/manifests/sha256:abc',
    headers: { origin, 'access-control-request-method': method, 'access-control-request-headers': headers },
  });

  test('off by default: a preflight reaches the API untouched', async () => {
    const config = corsConfigSchema.parse(undefined);
    assert.equal(config.enabled, false);
    h.use(corsApi(config));
    const res = await send(h.port(), preflight('https://ui.example.com'));
    assert.equal(res.status, 401);
    assert.equal(res.headers['access-control-allow-origin'], undefined);
    assert.equal(res.headers.vary, undefined);
  });

  test('preflight from an allowed origin: 204 without credentials, with methods, headers, max-age and Vary', async () => {
    const config = corsConfigSchema.parse({ enabled: true, allowedOrigins: ['https://ui.example.com'] });
    h.use(corsApi(config));
    const res = await send(h.port(), preflight('https://ui.example.com'));
    assert.equal(res.status, 204);
    assert.equal(res.body, '');
    assert.equal(res.headers['access-control-allow-origin'], 'https://ui.example.com');
    assert.equal(res.headers['access-control-allow-methods'], 'GET, HEAD, POST, PUT, PATCH, DELETE');
    const allowHeaders = String(res.headers['access-control-allow-headers']).toLowerCase().split(', ');
    for (const name of ['authorization', 'content-type', 'range', 'docker-content-digest']) assert.ok(allowHeaders.includes(name), name);
    assert.equal(res.headers['access-control-max-age'], '600');
    assert.equal(res.headers['access-control-allow-credentials'], undefined);
    assert.equal(res.headers['www-authenticate'], undefined);
    assert.equal(res.headers['content-length'], undefined, '204 carries no Content-Length');
    const vary = String(res.headers.vary).split(', ');
    for (const v of ['Origin', 'Access-Control-Request-Method', 'Access-Control-Request-Headers']) assert.ok(vary.includes(v), `Vary has ${v}: ${res.headers.vary}`);
  });

  test('preflight from another origin: 403 and no CORS headers', async () => {
    h.use(corsApi(corsConfigSchema.parse({ enabled: true, allowedOrigins: ['https://ui.example.com'] })));
    for (const origin of ['https://evil.example.com', 'http://ui.example.com', 'https://ui.example.com:8443', 'null']) {
      const res = await send(h.port(), preflight(origin));
      assert.equal(res.status, 403, origin);
      assert.equal(res.headers['access-control-allow-origin'], undefined, origin);
      assert.equal(res.headers['access-control-allow-methods'], undefined, origin);
    }
  });

  test('actual requests: allowed origin gets Allow-Origin and Expose-Headers; others and non-browser requests get none', async () => {
    h.use(corsApi(corsConfigSchema.parse({ enabled: true, allowedOrigins: ['https://ui.example.com'] })));
    const ok = await send(h.port(), { path: '/v2/', headers: { origin: 'https://ui.example.com', authorization: 'Basic eDp5' } });
    assert.equal(ok.status, 200);
    assert.equal(ok.headers['access-control-allow-origin'], 'https://ui.example.com');
    assert.deepEqual(String(ok.headers['access-control-expose-headers']).split(', '), defaultExposedHeaders);
    assert.match(String(ok.headers.vary), /Origin/);
    // 401 for a cross-origin request without credentials still carries CORS headers, so the UI can read WWW-Authenticate.
    const unauth = await send(h.port(), { path: '/v2/', headers: { origin: 'https://ui.example.com' } });
    assert.equal(unauth.status, 401);
    assert.equal(unauth.headers['access-control-allow-origin'], 'https://ui.example.com');
    assert.match(String(unauth.headers['access-control-expose-headers']), /WWW-Authenticate/);
    const denied = await send(h.port(), { path: '/v2/', headers: { origin: 'https://evil.example.com', authorization: 'Basic eDp5' } });
    assert.equal(denied.status, 200, 'the API still answers; the browser withholds the body');
    assert.equal(denied.headers['access-control-allow-origin'], undefined);
    assert.equal(denied.headers['access-control-expose-headers'], undefined);
    const plain = await send(h.port(), { path: '/v2/', headers: { authorization: 'Basic eDp5' } });
    assert.equal(plain.status, 200);
    assert.equal(plain.headers['access-control-allow-origin'], undefined);
    assert.equal(plain.headers.vary, 'Origin', 'responses vary by Origin when the allowed origins are a list');
    // OPTIONS without Access-Control-Request-Method is not a preflight: it goes to the API.
    const options = await send(h.port(), { method: 'OPTIONS', path: '/v2/', headers: { origin: 'https://ui.example.com' } });
    assert.equal(options.status, 401);
  });

  test('subdomain wildcards match one or more labels under the domain, same scheme and port only', async () => {
    h.use(corsApi(corsConfigSchema.parse({ enabled: true, allowedOrigins: ['https://*.corp.example', 'http://*.dev.example:8080'] })));
    const cases: [string, boolean][] = [
      ['https://ui.corp.example', true],
      ['https://a.b.corp.example', true],
      ['https://UI.Corp.Example', true],
      ['https://corp.example', false],
      ['https://evilcorp.example', false],
      ['https://ui.corp.example.evil.net', false],
      ['http://ui.corp.example', false],
      ['https://ui.corp.example:444', false],
      ['http://x.dev.example:8080', true],
      ['http://x.dev.example', false],
      ['http://x.dev.example:80800', false],
    ];
    for (const [origin, expected] of cases) {
      const res = await send(h.port(), preflight(origin, 'GET'));
      assert.equal(res.status, expected ? 204 : 403, origin);
      assert.equal(res.headers['access-control-allow-origin'], expected ? origin : undefined, origin);
    }
  });

  test("'*' answers any origin with a literal * and no Vary: Origin; with allowedHeaders '*' the requested headers are reflected", async () => {
    h.use(corsApi(corsConfigSchema.parse({ enabled: true, allowedOrigins: ['*'], allowedHeaders: ['*'], maxAge: '1h' })));
    const pre = await send(h.port(), preflight('https://anything.test', 'PUT', 'authorization, x-custom-thing'));
    assert.equal(pre.status, 204);
    assert.equal(pre.headers['access-control-allow-origin'], '*');
    assert.equal(pre.headers['access-control-allow-headers'], 'authorization, x-custom-thing');
    assert.equal(pre.headers['access-control-max-age'], '3600');
    assert.doesNotMatch(String(pre.headers.vary), /(^|, )Origin(,|$)/);
    const get = await send(h.port(), { path: '/v2/', headers: { origin: 'https://anything.test', authorization: 'Basic eDp5' } });
    assert.equal(get.headers['access-control-allow-origin'], '*');
    assert.equal(get.headers.vary, undefined);
  });

  test('credentials: the origin is echoed with Allow-Credentials; never together with *', async () => {
    h.use(corsApi(corsConfigSchema.parse({ enabled: true, allowedOrigins: ['https://ui.example.com'], allowCredentials: true, allowedMethods: ['GET', 'HEAD'] })));
    const pre = await send(h.port(), preflight('https://ui.example.com', 'GET'));
    assert.equal(pre.headers['access-control-allow-origin'], 'https://ui.example.com');
    assert.equal(pre.headers['access-control-allow-credentials'], 'true');
    assert.equal(pre.headers['access-control-allow-methods'], 'GET, HEAD');
    const get = await send(h.port(), { path: '/v2/', headers: { origin: 'https://ui.example.com', authorization: 'Basic eDp5' } });
    assert.equal(get.headers['access-control-allow-credentials'], 'true');
    const bad = corsConfigSchema.safeParse({ enabled: true, allowedOrigins: ['*'], allowCredentials: true });
    assert.equal(bad.success, false);
  });

  test('config validation: origins, methods, header names', () => {
    for (const origin of ['ui.example.com', 'https://ui.example.com/', 'https://*example.com', 'ftp://x.example', 'https://a.*.example']) {
      assert.equal(corsConfigSchema.safeParse({ allowedOrigins: [origin] }).success, false, origin);
    }
    for (const origin of ['https://ui.example.com', 'http://localhost:8080', 'https://*.example.com', '*', 'http://[::1]:3000']) {
      assert.equal(corsConfigSchema.safeParse({ allowedOrigins: [origin] }).success, true, origin);
    }
    assert.equal(corsConfigSchema.safeParse({ allowedMethods: ['TRACE'] }).success, false);
    assert.equal(corsConfigSchema.safeParse({ exposedHeaders: ['Bad Header'] }).success, false);
    assert.equal(corsConfigSchema.safeParse({ bogus: true }).success, false);
  });

  test('appendVary merges with what is already there', async () => {
    h.use((_req, res) => {
      res.setHeader('Vary', 'Accept, origin');
      appendVary(res, 'Origin', 'Accept-Encoding');
      res.end();
    });
    assert.equal((await send(h.port(), {})).headers.vary, 'Accept, origin, Accept-Encoding');
  });
});

describe('security headers', () => {
  const withHeaders = (config: SecurityHeadersConfig, tls: boolean): RequestHandler => (_req, res) => {
    applySecurityHeaders(res, { tls }, config);
    res.end('{}');
  };

  test('defaults: nosniff, DENY, no-referrer, a locked-down CSP; HSTS only over TLS', async () => {
    const config = securityHeadersConfigSchema.parse(undefined);
    h.use(withHeaders(config, false));
    const plain = await send(h.port(), {});
    assert.equal(plain.headers['x-content-type-options'], 'nosniff');
    assert.equal(plain.headers['x-frame-options'], 'DENY');
    assert.equal(plain.headers['referrer-policy'], 'no-referrer');
    assert.equal(plain.headers['content-security-policy'], "default-src 'none'; frame-ancestors 'none'; sandbox");
    assert.equal(plain.headers['strict-transport-security'], undefined, 'no HSTS over plain HTTP');
    h.use(withHeaders(config, true));
    const tls = await send(h.port(), {});
    assert.equal(tls.headers['strict-transport-security'], 'max-age=15552000; includeSubDomains');
  });

  test('each header can be changed or left out; enabled: false sends none', async () => {
    const custom = securityHeadersConfigSchema.parse({
      hsts: { maxAge: '365d', includeSubDomains: true, preload: true },
      frameOptions: 'SAMEORIGIN',
      referrerPolicy: '',
      contentSecurityPolicy: "default-src 'self'",
      contentTypeOptions: false,
    });
    h.use(withHeaders(custom, true));
    const res = await send(h.port(), {});
    assert.equal(res.headers['strict-transport-security'], 'max-age=31536000; includeSubDomains; preload');
    assert.equal(res.headers['x-frame-options'], 'SAMEORIGIN');
    assert.equal(res.headers['referrer-policy'], undefined);
    assert.equal(res.headers['content-security-policy'], "default-src 'self'");
    assert.equal(res.headers['x-content-type-options'], undefined);

    h.use(withHeaders(securityHeadersConfigSchema.parse({ hsts: { enabled: false }, frameOptions: 'off' }), true));
    const noHsts = await send(h.port(), {});
    assert.equal(noHsts.headers['strict-transport-security'], undefined);
    assert.equal(noHsts.headers['x-frame-options'], undefined);
    assert.equal(noHsts.headers['x-content-type-options'], 'nosniff');

    h.use(withHeaders(securityHeadersConfigSchema.parse({ enabled: false }), true));
    const none = await send(h.port(), {});
    for (const name of ['strict-transport-security', 'x-frame-options', 'x-content-type-options', 'referrer-policy', 'content-security-policy']) {
      assert.equal(none.headers[name], undefined, name);
    }
  });

  test('config validation: preload needs a year and subdomains; header values cannot break lines', () => {
    assert.equal(securityHeadersConfigSchema.safeParse({ hsts: { preload: true } }).success, false);
    assert.equal(securityHeadersConfigSchema.safeParse({ hsts: { preload: true, maxAge: '400d', includeSubDomains: false } }).success, false);
    assert.equal(securityHeadersConfigSchema.safeParse({ contentSecurityPolicy: "default-src 'none'\r\nX-Evil: 1" }).success, false);
    assert.equal(securityHeadersConfigSchema.safeParse({ hsts: { maxAge: 'forever' } }).success, false);
  });
});

describe('plain-HTTP listener', () => {
  test('redirects with 308 to https on the configured port, keeping path and query', async () => {
    h.use(createPlainHttpHandler({ challenges: null, redirect: true, httpsPort: 8443 }));
    const res = await send(h.port(), { path: '/v2/library/app/tags/list?n=10&last=a', headers: { host: 'Registry.Example.com:80' } });
    assert.equal(res.status, 308);
    assert.equal(res.headers.location, 'https://registry.example.com:8443/v2/library/app/tags/list?n=10&last=a');
    const put = await send(h.port(), { method: 'PUT', path: '/v2/a/blobs/uploads/x?digest=sha256:1', headers: { host: 'registry.example.com', 'content-length': '5' }, body: 'hello' });
    assert.equal(put.status, 308, '308 keeps the method for uploads');
    assert.equal(put.headers.location, 'https://registry.example.com:8443/v2/a/blobs/uploads/x?digest=sha256:1');
    const v6 = await send(h.port(), { path: '/', headers: { host: '[::1]:8080' } });
    assert.equal(v6.headers.location, 'https://[::1]:8443/');
    const absolute = await send(h.port(), { path: 'http://registry.example.com/v2/?x=1', headers: { host: 'registry.example.com' } });
    assert.equal(absolute.headers.location, 'https://registry.example.com:8443/v2/?x=1');
  });

  test('port 443 is left out of the location; a missing or malformed Host gets 400, never a redirect elsewhere', async () => {
    h.use(createPlainHttpHandler({ challenges: null, redirect: true, httpsPort: 443 }));
    assert.equal((await send(h.port(), { path: '/v2/', headers: { host: 'registry.example.com' } })).headers.location, 'https://registry.example.com/v2/');
    for (const host of ['evil.example/x', 'user@evil.example', 'a b', 'evil.example\\x', '']) {
      const res = await send(h.port(), { path: '/v2/', headers: { host } });
      assert.equal(res.status, 400, JSON.stringify(host));
      assert.equal(res.headers.location, undefined);
    }
  });

  test('ACME challenges are answered before any redirect; unknown tokens 404', async () => {
    const challenges = new Http01ChallengeResponder();
    challenges.set('tok_en-1', 'tok_en-1.thumbprint');
    h.use(createPlainHttpHandler({ challenges, redirect: true, httpsPort: 443 }));
    const hit = await send(h.port(), { path: '/.well-known/acme-challenge/tok_en-1', headers: { host: 'registry.example.com' } });
    assert.equal(hit.status, 200);
    assert.equal(hit.body, 'tok_en-1.thumbprint');
    assert.match(String(hit.headers['content-type']), /^text\/plain/);
    const head = await send(h.port(), { method: 'HEAD', path: '/.well-known/acme-challenge/tok_en-1', headers: { host: 'registry.example.com' } });
    assert.equal(head.status, 200);
    assert.equal(head.headers['content-length'], String('tok_en-1.thumbprint'.length));
    const miss = await send(h.port(), { path: '/.well-known/acme-challenge/other', headers: { host: 'registry.example.com' } });
    assert.equal(miss.status, 404);
    const post = await send(h.port(), { method: 'POST', path: '/.well-known/acme-challenge/tok_en-1', headers: { host: 'registry.example.com' } });
    assert.equal(post.status, 405);
    challenges.delete('tok_en-1');
    assert.equal((await send(h.port(), { path: '/.well-known/acme-challenge/tok_en-1', headers: { host: 'registry.example.com' } })).status, 404);
    const other = await send(h.port(), { path: '/.well-known/other', headers: { host: 'registry.example.com' } });
    assert.equal(other.status, 308);
    assert.throws(() => challenges.set('../etc', 'x'), /invalid ACME challenge token/);
  });

  test('with redirects off the API itself answers (challenges still first)', async () => {
    const challenges = new Http01ChallengeResponder();
    challenges.set('abc', 'abc.def');
    h.use(createPlainHttpHandler({ challenges, redirect: false, httpsPort: 443, fallback: fakeApi }));
    assert.equal((await send(h.port(), { path: '/v2/', headers: { authorization: 'Basic eDp5' } })).status, 200);
    assert.equal((await send(h.port(), { path: '/.well-known/acme-challenge/abc' })).body, 'abc.def');
    h.use(createPlainHttpHandler({ challenges: null, redirect: false, httpsPort: 443 }));
    assert.equal((await send(h.port(), { path: '/v2/' })).status, 404);
  });
});

describe('config schemas', () => {
  test('tls: defaults, and every mode-specific requirement reported with its path', () => {
    const d = tlsConfigSchema.parse(undefined);
    assert.equal(d.mode, 'none');
    assert.equal(d.http.addr, '0.0.0.0:80');
    assert.equal(d.http.redirect, true);
    assert.equal(d.acme.directoryUrl, 'https://acme-v02.api.letsencrypt.org/directory');
    assert.equal(d.acme.renewBefore, 30 * 86_400_000);
    assert.equal(d.acme.termsOfServiceAgreed, false);

    const files = tlsConfigSchema.safeParse({ mode: 'files' });
    assert.equal(files.success, false);
    assert.deepEqual(files.error?.issues.map((i) => i.path.join('.')).sort(), ['certificate', 'key']);

    const acme = tlsConfigSchema.safeParse({ mode: 'acme', http: { enabled: false } });
    assert.equal(acme.success, false);
    assert.deepEqual(acme.error?.issues.map((i) => i.path.join('.')).sort(), ['acme.domains', 'acme.termsOfServiceAgreed', 'http.enabled']);

    assert.equal(tlsConfigSchema.safeParse({ mode: 'acme', acme: { domains: ['*.example.com'], termsOfServiceAgreed: true } }).success, false, 'wildcards need DNS-01');
    const ok = tlsConfigSchema.parse({ mode: 'acme', acme: { domains: ['registry.example.com'], termsOfServiceAgreed: true, email: 'ops@example.com', renewBefore: '20d' } });
    assert.equal(ok.acme.renewBefore, 20 * 86_400_000);
    assert.equal(tlsConfigSchema.safeParse({ mode: 'acme', acme: { domains: ['a.example'], termsOfServiceAgreed: true, email: 'nope' } }).success, false);
    assert.equal(tlsConfigSchema.safeParse({ mode: 'files', certificate: '/c', key: '/k', bogus: 1 }).success, false);
  });

  test('every key is described and the README/env walker understands the schemas', () => {
    for (const schema of [tlsConfigSchema, corsConfigSchema, securityHeadersConfigSchema]) {
      const leaves = configLeaves(schema);
      assert.ok(leaves.length > 3);
      for (const leaf of leaves) assert.ok(leaf.description.length > 10, `no description at ${leaf.path.join('.')}`);
    }
    const paths = configLeaves(tlsConfigSchema).map((l) => l.path.join('.'));
    for (const p of ['mode', 'certificate', 'http.addr', 'acme.domains', 'acme.renewBefore', 'acme.caBundle']) assert.ok(paths.includes(p), p);
  });
});
