// Robustness: malformed input of every kind gets a 4xx (with a spec-format error body when it has one) or a closed
// connection — never a 5xx, never a crash — and the registry keeps serving afterwards.
import assert from 'node:assert/strict';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import { startTestServer, type TestServer } from '../support/server.js';
import { Client, expectRejectedOrClosed, expectStatus, hostOf, rawExchange, requireHeader, trapUncaught, type RawResult } from './support/http.js';
import {
  MT,
  digestOf,
  errorCodes,
  expectError,
  pushImage,
  pushRandomBlob,
  putManifest,
  randomData,
  repoName,
  startUpload,
  withQuery,
} from './support/registry.js';

describe('robustness', () => {
  let srv: TestServer;
  let c: Client;
  let host: string;
  let repo: string;
  let blobDigest: string;

  before(async () => {
    srv = await startTestServer();
    c = new Client(srv.url);
    host = hostOf(srv.url);
    repo = repoName('robust');
    blobDigest = (await pushRandomBlob(c, repo, 512)).digest;
    await pushImage(c, repo, { tag: 'latest' });
  });
  let checkUncaught: () => void = () => undefined;
  beforeEach(() => {
    checkUncaught = trapUncaught();
  });
  afterEach(async () => {
    // the registry must still serve after every abuse, and nothing may have escaped its handlers
    const res = await c.get('/v2/');
    expectStatus(res, 200);
    await new Promise((r) => setTimeout(r, 20));
    checkUncaught();
  });
  after(async () => {
    await srv.close();
  });

  function raw(pieces: readonly (string | Buffer)[], opts?: Parameters<typeof rawExchange>[2]): Promise<RawResult> {
    return rawExchange(srv.url, pieces, opts);
  }

  describe('error body format', () => {
    it('4xx responses carry {"errors":[{"code","message","detail"}]} with the spec codes', async () => {
      const samples = [
        await c.get(`/v2/${repo}/blobs/${digestOf('nope')}`),
        await c.get(`/v2/${repo}/manifests/nope`),
        await c.get(`/v2/${repo}/blobs/uploads/00000000-0000-4000-8000-000000000000`),
        await c.post('/v2/BAD/blobs/uploads/'),
        await putManifest(c, repo, 'x', '{', MT.ociManifest),
      ];
      for (const res of samples) {
        assert.ok(res.status >= 400 && res.status < 500);
        const codes = errorCodes(res);
        assert.ok(codes.length > 0);
      }
    });
  });

  describe('malformed URLs and parameters (fetch)', () => {
    it('bad percent-encoding anywhere → 4xx', async () => {
      for (const p of [
        '/v2/%ff/manifests/latest',
        `/v2/${repo}/manifests/%ff`,
        `/v2/${repo}/manifests/%E0%A4%A`,
        `/v2/${repo}/blobs/%zz`,
        `/v2/${repo}/blobs/uploads/%ff`,
        `/v2/${repo}/referrers/%ff`,
        `/v2/${repo}/tags/list?n=%zz&last=%ff`,
        '/v2/_catalog?n=%ff&last=%zz',
        `/v2/${repo}%00/tags/list`,
        `/v2/${repo}/manifests/lat%00est`,
      ]) {
        const res = await c.get(p);
        assert.ok(res.status >= 400 && res.status < 500, `${p} → ${res.status}`);
        if (res.body.length > 0) errorCodes(res);
      }
    });

    it('bad digests on every digest-taking endpoint → 4xx with spec codes', async () => {
      const bad = ['sha256:abc', 'sha256:' + 'g'.repeat(64), 'sha999:' + 'a'.repeat(64), 'sha256', ':', 'sha256:' + 'a'.repeat(65), 'sha512:' + 'a'.repeat(64), '%ff', 'sha256:../../etc/passwd'];
      for (const d of bad) {
        const e = encodeURI(d);
        const reqs = [
          c.get(`/v2/${repo}/blobs/${e}`),
          c.head(`/v2/${repo}/blobs/${e}`),
          c.delete(`/v2/${repo}/blobs/${e}`),
          c.get(`/v2/${repo}/manifests/${e}`),
          c.delete(`/v2/${repo}/manifests/${e}`),
          c.get(`/v2/${repo}/referrers/${e}`),
          c.post(`/v2/${repo}/blobs/uploads/?digest=${encodeURIComponent(d)}`, { body: 'abc' }),
          c.post(`/v2/${repo}/blobs/uploads/?mount=${encodeURIComponent(d)}&from=${repo}`),
        ];
        for (const res of await Promise.all(reqs)) {
          assert.ok(res.status < 500, `${res.method} ${res.url} → ${res.status}`);
          if (res.status >= 400 && res.body.length > 0) errorCodes(res);
        }
      }
    });

    it('repeated, empty and conflicting query parameters → 4xx or sensible success', async () => {
      const data = randomData(20);
      const d = digestOf(data);
      const { location } = await startUpload(c, repo);
      const res = await c.put(`${withQuery(location, { digest: d })}&digest=${digestOf('other')}`, { body: data });
      assert.ok(res.status === 201 || (res.status >= 400 && res.status < 500), `→ ${res.status}`);
      const { location: l2 } = await startUpload(c, repo);
      expectError(await c.put(withQuery(l2, { digest: '' }), { body: data }), 400, 'DIGEST_INVALID');
      for (const q of ['?n=', '?n=1&n=2', '?last=', '?last=' + 'x'.repeat(5000)]) {
        const r = await c.get(`/v2/${repo}/tags/list${q}`);
        assert.ok(r.status < 500);
      }
    });

    it('very long names and references → 4xx, not 5xx', async () => {
      const longName = Array.from({ length: 60 }, () => 'abcd').join('/');
      for (const res of [
        await c.get(`/v2/${longName}/manifests/latest`),
        await c.post(`/v2/${longName}/blobs/uploads/`),
        await c.get(`/v2/${repo}/manifests/${'a'.repeat(4000)}`),
        await c.get(`/v2/${'a'.repeat(4000)}/tags/list`),
      ]) {
        assert.ok(res.status < 500, `${res.url.slice(0, 100)} → ${res.status}`);
      }
    });

    it('unsupported methods on known routes → 4xx (405 or 404), not 5xx', async () => {
      for (const [m, p] of [
        ['PATCH', `/v2/${repo}/manifests/latest`],
        ['POST', `/v2/${repo}/manifests/latest`],
        ['PUT', `/v2/${repo}/blobs/${blobDigest}`],
        ['POST', `/v2/${repo}/tags/list`],
        ['DELETE', '/v2/'],
        ['PUT', '/v2/_catalog'],
        ['OPTIONS', `/v2/${repo}/blobs/${blobDigest}`],
      ] as const) {
        const res = await c.req(m, p, m === 'OPTIONS' || m === 'DELETE' ? {} : { body: 'x' });
        assert.ok((res.status >= 400 && res.status < 500) || (m === 'OPTIONS' && res.status < 300), `${m} ${p} → ${res.status}`);
      }
    });
  });

  describe('garbage manifests', () => {
    it('deeply nested JSON → 400 MANIFEST_INVALID', async () => {
      const depth = 200_000;
      const body = '['.repeat(depth) + ']'.repeat(depth);
      expectError(await putManifest(c, repo, 'deep', body, MT.ociManifest), 400, 'MANIFEST_INVALID');
      const obj = '{"a":'.repeat(100_000) + '1' + '}'.repeat(100_000);
      expectError(await putManifest(c, repo, 'deep', obj, MT.ociManifest), 400, 'MANIFEST_INVALID');
      const nestedAnn = `{"schemaVersion":2,"mediaType":"${MT.ociManifest}","config":${'{"x":'.repeat(50_000)}1${'}'.repeat(50_000)},"layers":[]}`;
      expectError(await putManifest(c, repo, 'deep', nestedAnn, MT.ociManifest), 400, 'MANIFEST_INVALID');
    });

    it('prototype-pollution keys and odd values → 4xx, and the registry is unaffected', async () => {
      const cfg = await pushRandomBlob(c, repo, 10);
      const bodies = [
        `{"__proto__":{"polluted":true},"schemaVersion":2,"mediaType":"${MT.ociManifest}","config":{"mediaType":"${MT.ociConfig}","digest":"${cfg.digest}","size":10},"layers":[]}`,
        `{"schemaVersion":2,"mediaType":"${MT.ociManifest}","config":{"mediaType":"${MT.ociConfig}","digest":"${cfg.digest}","size":1e400},"layers":[]}`,
        `{"schemaVersion":2,"mediaType":"${MT.ociManifest}","config":{"mediaType":"${MT.ociConfig}","digest":"${cfg.digest}","size":10,"constructor":{"prototype":{"x":1}}},"layers":[],"annotations":{"__proto__":"x"}}`,
        `{"schemaVersion":2,"mediaType":"${MT.ociManifest}","config":{"mediaType":"${MT.ociConfig}","digest":"${cfg.digest}","size":10},"layers":[],"subject":{"mediaType":"${MT.ociManifest}","digest":"sha256:nope","size":1}}`,
        `{"schemaVersion":2,"mediaType":"${MT.ociManifest}","config":{"mediaType":"${MT.ociConfig}","digest":"${cfg.digest}","size":10},"layers":[],"subject":"nope"}`,
        `{"schemaVersion":2,"mediaType":"${MT.ociManifest}","config":{"mediaType":"${MT.ociConfig}","digest":"${cfg.digest}","size":10},"layers":[],"annotations":{"a":1}}`,
        `{"schemaVersion":2,"mediaType":"${MT.ociManifest}","config":{"mediaType":"${MT.ociConfig}","digest":"${cfg.digest}","size":10},"layers":[],"artifactType":{}}`,
        `{"schemaVersion":2,"mediaType":"${MT.ociIndex}","manifests":[{"mediaType":"${MT.ociManifest}","digest":"${cfg.digest}","size":10,"platform":"x"}],"subject":[]}`,
      ];
      for (const b of bodies) {
        const res = await putManifest(c, repo, 'odd', b, (JSON.parse(b) as { mediaType: string }).mediaType);
        assert.ok(res.status === 201 || (res.status >= 400 && res.status < 500), `→ ${res.status} for ${b.slice(0, 120)}`);
        if (res.status >= 400) errorCodes(res);
      }
      assert.equal(({} as Record<string, unknown>).polluted, undefined);
      expectStatus(await c.get(`/v2/${repo}/manifests/latest`, { Accept: MT.ociManifest }), 200);
    });

    it('a manifest referencing thousands of missing blobs → 400 MANIFEST_BLOB_UNKNOWN', async () => {
      const cfg = await pushRandomBlob(c, repo, 10);
      const layers = Array.from({ length: 5000 }, (_, i) => ({ mediaType: MT.ociLayer, digest: digestOf(`layer-${i}`), size: 10 }));
      const body = JSON.stringify({ schemaVersion: 2, mediaType: MT.ociManifest, config: { mediaType: MT.ociConfig, digest: cfg.digest, size: 10 }, layers });
      expectError(await putManifest(c, repo, 'many', body, MT.ociManifest), 400, 'MANIFEST_BLOB_UNKNOWN');
    });

    it('a manifest body that is binary garbage → 400 MANIFEST_INVALID', async () => {
      expectError(await c.put(`/v2/${repo}/manifests/bin`, { headers: { 'Content-Type': MT.ociManifest }, body: randomData(5000) }), 400, 'MANIFEST_INVALID');
    });
  });

  describe('path traversal', () => {
    it('dot segments and encoded dots in names never reach storage', async () => {
      const paths = [
        '/v2/../../../../etc/passwd',
        `/v2/../blobs/${blobDigest}`,
        `/v2/%2e%2e/blobs/${blobDigest}`,
        `/v2/%2e%2e/%2e%2e/blobs/uploads/`,
        `/v2/a/%2e%2e/%2e%2e/blobs/${blobDigest}`,
        `/v2/a/..%2f..%2f/manifests/latest`,
        `/v2/${repo}/blobs/..%2f..%2f..%2fetc%2fpasswd`,
        `/v2/${repo}/blobs/sha256:..%2f..%2f..%2f..%2fetc%2fpasswd`,
        `/v2/${repo}/blobs/uploads/..%2f..%2f..%2fetc%2fpasswd`,
        `/v2/${repo}/manifests/..%2f..%2fwharf.db`,
        '/v2/..%5c..%5cwindows/tags/list',
      ];
      for (const p of paths) {
        const r = await raw([`GET ${p} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`]);
        expectRejectedOrClosed(r, `GET ${p}`);
        assert.ok(!r.raw.toString('latin1').includes('root:'), 'served a system file');
      }
    });

    it('uploads into a dot-segment name → 4xx', async () => {
      for (const p of ['/v2/../blobs/uploads/', '/v2/a/../../blobs/uploads/', '/v2/%2e%2e/blobs/uploads/', '/v2/a/./b/blobs/uploads/']) {
        const r = await raw([`POST ${p} HTTP/1.1\r\nHost: ${host}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`]);
        const first = r.responses[0];
        if (first && first.status === 202) {
          // a server may normalise the dot segments (RFC 3986) — then the name it used must be a valid one
          const loc = first.headers.get('location') ?? '';
          assert.match(new URL(loc, srv.url).pathname, /^\/v2\/[a-z0-9]+([._/-][a-z0-9]+)*\/blobs\/uploads\//, loc);
        } else {
          expectRejectedOrClosed(r, `POST ${p}`);
        }
      }
    });
  });

  describe('broken HTTP (raw socket)', () => {
    it('Content-Length larger than the body, then EOF: no blob, upload not completed', async () => {
      const data = randomData(2000);
      const d = digestOf(data);
      const { location } = await startUpload(c, repo);
      const u = new URL(withQuery(location, { digest: d }), srv.url);
      const r = await raw([
        `PUT ${u.pathname}${u.search} HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/octet-stream\r\nContent-Length: 2000\r\n\r\n`,
        data.subarray(0, 1000),
      ], { end: true });
      for (const res of r.responses) assert.ok(res.status >= 400 && res.status < 500, `truncated PUT answered ${res.status}`);
      expectError(await c.get(`/v2/${repo}/blobs/${d}`), 404, 'BLOB_UNKNOWN');
    });

    it('a PATCH cut off mid-body leaves a truthful offset: resuming from it completes with the right digest', async () => {
      const data = randomData(4000);
      const d = digestOf(data);
      const { location } = await startUpload(c, repo);
      const u = new URL(location, srv.url);
      await raw([
        `PATCH ${u.pathname}${u.search} HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/octet-stream\r\nContent-Length: 4000\r\n\r\n`,
        data.subarray(0, 1500),
      ], { end: true });
      await new Promise((r) => setTimeout(r, 100));
      const st = await c.get(location);
      expectStatus(st, 204);
      const m = /^0-(\d+)$/.exec(st.headers.get('range') ?? '');
      assert.ok(m, `bad Range ${st.headers.get('range')}`);
      const end = Number(m[1]);
      const offset = end === 0 ? 0 : end + 1;
      assert.ok(offset <= 1500, `Range claims ${offset} bytes, only 1500 were sent`);
      expectError(await c.get(`/v2/${repo}/blobs/${d}`), 404, 'BLOB_UNKNOWN');
      const loc = requireHeader(st, 'location');
      const p = await c.patch(loc, { headers: { 'Content-Type': 'application/octet-stream', 'Content-Range': `${offset}-3999` }, body: data.subarray(offset) });
      expectStatus(p, 202);
      const put = await c.put(withQuery(requireHeader(p, 'location'), { digest: d }), {});
      expectStatus(put, 201);
      const got = await c.get(`/v2/${repo}/blobs/${d}`);
      assert.deepEqual(got.body, data);
    });

    it('clients hanging up mid-body, again and again, never crash or wedge the registry', async () => {
      for (let i = 0; i < 12; i += 1) {
        const data = randomData(4000);
        const d = digestOf(data);
        const { location } = await startUpload(c, repo);
        const u = new URL(location, srv.url);
        const method = i % 3 === 2 ? 'PUT' : 'PATCH';
        const target = method === 'PUT' ? `${u.pathname}?digest=${d}` : u.pathname;
        const cut = [0, 1, 1500, 3999][i % 4] ?? 0;
        await raw(
          [`${method} ${target} HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/octet-stream\r\nContent-Length: 4000\r\n\r\n`, data.subarray(0, cut)],
          { end: i % 2 === 0, timeoutMs: i % 2 === 0 ? 3000 : 50 },
        );
        // nothing was committed, and the session is still usable or cleanly gone (not wedged: cancel answers)
        expectError(await c.get(`/v2/${repo}/blobs/${d}`), 404, 'BLOB_UNKNOWN');
        const st = await c.get(location);
        expectStatus(st, [204, 404]);
        expectStatus(await c.delete(location), [204, 404]);
      }
    });

    it('a single-POST upload cut off mid-body creates nothing', async () => {
      const data = randomData(3000);
      const d = digestOf(data);
      const r = await raw([
        `POST /v2/${repo}/blobs/uploads/?digest=${d} HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/octet-stream\r\nContent-Length: 3000\r\n\r\n`,
        data.subarray(0, 2999),
      ], { end: true });
      for (const res of r.responses) assert.ok(res.status >= 400 && res.status < 500, `truncated POST answered ${res.status}`);
      expectError(await c.get(`/v2/${repo}/blobs/${d}`), 404, 'BLOB_UNKNOWN');
    });

    it('a manifest PUT cut off mid-body stores nothing', async () => {
      const img = await pushImage(c, repo);
      const r = await raw([
        `PUT /v2/${repo}/manifests/cut HTTP/1.1\r\nHost: ${host}\r\nContent-Type: ${MT.ociManifest}\r\nContent-Length: ${img.bytes.length}\r\n\r\n`,
        img.bytes.subarray(0, img.bytes.length - 10),
      ], { end: true });
      for (const res of r.responses) assert.ok(res.status >= 400 && res.status < 500, `truncated manifest PUT answered ${res.status}`);
      expectStatus(await c.head(`/v2/${repo}/manifests/cut`, { Accept: MT.ociManifest }), 404);
    });

    it('a connection reset mid-upload does not disturb the registry', async () => {
      const { location } = await startUpload(c, repo);
      const u = new URL(location, srv.url);
      await raw(
        [`PATCH ${u.pathname}${u.search} HTTP/1.1\r\nHost: ${host}\r\nContent-Length: 100000\r\n\r\n`, randomData(5000)],
        { end: false, timeoutMs: 300 },
      );
      expectStatus(await c.get(location), 204);
    });

    it('Content-Length smaller than the body: the request is taken as declared (or the connection refused); never more bytes', async () => {
      const data = randomData(10);
      const d = digestOf(data.subarray(0, 5));
      const { location } = await startUpload(c, repo);
      const u = new URL(withQuery(location, { digest: d }), srv.url);
      const r = await raw([`PUT ${u.pathname}${u.search} HTTP/1.1\r\nHost: ${host}\r\nContent-Length: 5\r\n\r\n`, data]);
      for (const res of r.responses) assert.ok(res.status < 500, `answered ${res.status}`);
      const first = r.responses[0];
      assert.ok(first !== undefined || r.closed, 'no answer and no close');
      const got = await c.get(`/v2/${repo}/blobs/${d}`);
      if (first?.status === 201) {
        expectStatus(got, 200);
        assert.deepEqual(got.body, data.subarray(0, 5));
      } else if (got.status === 200) {
        assert.deepEqual(got.body, data.subarray(0, 5));
      }
      // the 10-byte content must never appear
      expectError(await c.get(`/v2/${repo}/blobs/${digestOf(data)}`), 404, 'BLOB_UNKNOWN');
    });

    it('invalid or conflicting framing headers → 400 or close', async () => {
      const cases = [
        `PUT /v2/${repo}/manifests/x HTTP/1.1\r\nHost: ${host}\r\nContent-Length: abc\r\n\r\n{}`,
        `PUT /v2/${repo}/manifests/x HTTP/1.1\r\nHost: ${host}\r\nContent-Length: -5\r\n\r\n{}`,
        `PUT /v2/${repo}/manifests/x HTTP/1.1\r\nHost: ${host}\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}x`,
        `PUT /v2/${repo}/manifests/x HTTP/1.1\r\nHost: ${host}\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n`,
        `PUT /v2/${repo}/manifests/x HTTP/1.1\r\nHost: ${host}\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n`,
        `PUT /v2/${repo}/manifests/x HTTP/1.1\r\nHost: ${host}\r\nTransfer-Encoding: gzip, chunked, identity\r\n\r\n0\r\n\r\n`,
        `PATCH /v2/${repo}/blobs/uploads/x HTTP/1.1\r\nHost: ${host}\r\nContent-Length: 99999999999999999999999\r\n\r\nabc`,
      ];
      for (const req of cases) {
        const r = await raw([req]);
        expectRejectedOrClosed(r, req.split('\r\n').slice(0, 4).join(' | '));
      }
    });

    it('garbage request lines → 400 or close', async () => {
      for (const req of ['HELLO\r\n\r\n', 'GET\r\n\r\n', 'GET /v2/ HTTP/9.9\r\n\r\n', '\x00\x01\x02\x03\r\n\r\n', 'GET /v2/ HTTP/1.1\r\nBad Header Line\r\n\r\n', `GET /v2/\x7f HTTP/1.1\r\nHost: ${host}\r\n\r\n`]) {
        const r = await raw([req]);
        expectRejectedOrClosed(r, JSON.stringify(req));
      }
    });

    it('huge headers → 431/400 or close', async () => {
      const big = 'x'.repeat(256 * 1024);
      const r = await raw([`GET /v2/ HTTP/1.1\r\nHost: ${host}\r\nX-Big: ${big}\r\n\r\n`]);
      expectRejectedOrClosed(r, 'huge header');
      const many = Array.from({ length: 5000 }, (_, i) => `X-H${i}: ${i}`).join('\r\n');
      const r2 = await raw([`GET /v2/ HTTP/1.1\r\nHost: ${host}\r\n${many}\r\nConnection: close\r\n\r\n`]);
      for (const res of r2.responses) assert.ok(res.status < 500, `many headers → ${res.status}`);
    });

    it('a huge URL → 414/431/400 or close', async () => {
      const r = await raw([`GET /v2/${'a/'.repeat(100_000)}tags/list HTTP/1.1\r\nHost: ${host}\r\n\r\n`]);
      expectRejectedOrClosed(r, 'huge URL');
    });

    it('unknown or unsupported methods → 4xx or close, never 501', async () => {
      for (const m of ['FOO', 'PROPFIND', 'TRACE', 'CONNECT', 'MKCOL']) {
        const target = m === 'CONNECT' ? host : '/v2/';
        const r = await raw([`${m} ${target} HTTP/1.1\r\nHost: ${host}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`]);
        expectRejectedOrClosed(r, m);
      }
    });

    it('requests without a Host (HTTP/1.0) or with a garbage Host still get a non-5xx answer', async () => {
      const hosts = ['', 'Host: \r\n', 'Host: [::1\r\n', 'Host: a b c\r\n', 'Host: %%%\r\n', 'Host: x:99999999\r\n', 'Host: user@evil.com\r\n'];
      for (const h of hosts) {
        const version = h === '' ? 'HTTP/1.0' : 'HTTP/1.1';
        const r = await raw([`POST /v2/${repo}/blobs/uploads/ ${version}\r\n${h}Content-Length: 0\r\nConnection: close\r\n\r\n`]);
        for (const res of r.responses) assert.ok(res.status < 500, `${JSON.stringify(h)} → ${res.status}: ${r.raw.toString('latin1').slice(0, 300)}`);
        assert.ok(r.responses.length > 0 || r.closed, `${JSON.stringify(h)}: no answer`);
      }
    });

    it('garbage X-Forwarded-* headers still get a non-5xx answer', async () => {
      const sets = [
        'X-Forwarded-Proto: javascript\r\n',
        'X-Forwarded-Proto: \r\n',
        'X-Forwarded-Host: %%%\r\n',
        'X-Forwarded-Host: [::1\r\n',
        'X-Forwarded-Host: ,,,\r\n',
        'X-Forwarded-Proto: https://evil\r\nX-Forwarded-Host: a/b?c#d\r\n',
        `X-Forwarded-Host: ${'h'.repeat(5000)}\r\n`,
      ];
      for (const s of sets) {
        const r = await raw([`POST /v2/${repo}/blobs/uploads/ HTTP/1.1\r\nHost: ${host}\r\n${s}Content-Length: 0\r\nConnection: close\r\n\r\n`]);
        for (const res of r.responses) assert.ok(res.status < 500, `${JSON.stringify(s)} → ${res.status}: ${r.raw.toString('latin1').slice(0, 300)}`);
        assert.ok(r.responses.length > 0, `${JSON.stringify(s)}: no answer`);
      }
    });

    it('Expect: 100-continue on a blob PUT works', async () => {
      const data = randomData(1000);
      const d = digestOf(data);
      const { location } = await startUpload(c, repo);
      const u = new URL(withQuery(location, { digest: d }), srv.url);
      const r = await raw(
        [`PUT ${u.pathname}${u.search} HTTP/1.1\r\nHost: ${host}\r\nContent-Length: 1000\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n`, data],
        { gapMs: 200 },
      );
      assert.equal(r.responses[0]?.status, 201, r.raw.toString('latin1').slice(0, 500));
    });

    it('pipelined requests are answered in order', async () => {
      const one = `GET /v2/ HTTP/1.1\r\nHost: ${host}\r\n\r\n`;
      const two = `HEAD /v2/${repo}/blobs/${blobDigest} HTTP/1.1\r\nHost: ${host}\r\n\r\n`;
      const three = `GET /v2/${repo}/blobs/${digestOf('missing')} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`;
      const r = await raw([one + two + three], { headIndexes: [1] });
      assert.deepEqual(
        r.responses.map((x) => x.status),
        [200, 200, 404],
      );
    });

    it('a client that sends half the headers and vanishes does not disturb the registry', async () => {
      await raw([`GET /v2/ HTTP/1.1\r\nHost: ${host}\r\nX-Partial: `], { end: false, timeoutMs: 200 });
      await raw([`PUT /v2/${repo}/manifests/x HTTP/1.1\r\nHost: `], { end: true, timeoutMs: 500 });
    });

    it('many concurrent abusive connections, then normal service', async () => {
      const junk = Array.from({ length: 40 }, (_, i) =>
        raw([i % 2 === 0 ? 'GARBAGE\r\n\r\n' : `PUT /v2/${repo}/manifests/t${i} HTTP/1.1\r\nHost: ${host}\r\nContent-Length: 100\r\n\r\n{`], { timeoutMs: 1500 }),
      );
      const results = await Promise.all(junk);
      for (const r of results) for (const res of r.responses) assert.ok(res.status < 500);
      const img = await pushImage(c, repo, { tag: 'after-abuse' });
      const got = await c.get(`/v2/${repo}/manifests/after-abuse`, { Accept: MT.ociManifest });
      assert.deepEqual(got.body, img.bytes);
    });
  });
});
