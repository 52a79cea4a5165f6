// Hostile input through real HTTP: every endpoint answers absurd input with a small 4xx error JSON, and the server
// keeps serving. The payloads are the issue's own (a 6000-level digest that once killed the process).
import assert from 'node:assert/strict';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import { startTestServer, type TestServer } from '../support/server.js';
import { Client, expectStatus, rawExchange, trapUncaught, type Res } from './support/http.js';
import { MT, digestOf, expectError, imageDoc, manifestBytes, pushImage, pushManifest, putManifest, repoName, startUpload, type PushedImage } from './support/registry.js';

/** The error bodies stay small whatever was sent: details are bounded scalars. */
const maxErrorBody = 2048;

function expectSmallError(res: Res, status: number | readonly number[], code: string | readonly string[]): void {
  expectError(res, status, code);
  assert.ok(res.body.length <= maxErrorBody, `error body of ${res.body.length} bytes: ${res.body.subarray(0, 300).toString()}`);
}

/** Any 4xx with the error JSON (or a 2xx where the input, however odd, is legal), never bigger than maxErrorBody. */
function expectHandled(res: Res): void {
  assert.ok(res.status < 500, `status ${res.status}`);
  if (res.status >= 400) expectSmallError(res, res.status, [...['BLOB_UNKNOWN', 'BLOB_UPLOAD_INVALID', 'BLOB_UPLOAD_UNKNOWN', 'DIGEST_INVALID']
    , 'MANIFEST_INVALID', 'MANIFEST_UNKNOWN', 'NAME_INVALID', 'NAME_UNKNOWN', 'SIZE_INVALID', 'TAG_INVALID', 'UNSUPPORTED']);
}

function nested(depth: number): string {
  return `${'['.repeat(depth)}${']'.repeat(depth)}`;
}

function deepManifest(depth: number): string {
  return `{"schemaVersion":2,"mediaType":"${MT.ociManifest}","config":{"mediaType":"a","size":1,"digest":${nested(depth)}}}`;
}

describe('hostile input', () => {
  let srv: TestServer;
  let c: Client;
  let repo: string;
  let image: PushedImage;

  before(async () => {
    srv = await startTestServer();
    c = new Client(srv.url);
    repo = repoName('hostile');
    image = await pushImage(c, repo, { tag: 'latest' });
  });
  let checkUncaught: () => void = () => undefined;
  beforeEach(() => {
    checkUncaught = trapUncaught();
  });
  afterEach(async () => {
    expectStatus(await c.get('/v2/'), 200);
    checkUncaught();
  });
  after(async () => {
    await srv.close();
  });

  describe('deeply nested manifests', () => {
    for (const depth of [6000, 3000, 33]) {
      it(`a digest nested ${depth} levels deep → 400 MANIFEST_INVALID, small body, nothing echoed`, async () => {
        const res = await putManifest(c, repo, 'deep', deepManifest(depth), MT.ociManifest);
        expectSmallError(res, 400, 'MANIFEST_INVALID');
        assert.ok(!res.body.includes('[['), res.body.toString());
      });
    }

    it('nesting within the limit is parsed, then rejected for its type, not its depth', async () => {
      const res = await putManifest(c, repo, 'deep', deepManifest(30), MT.ociManifest);
      expectSmallError(res, 400, 'MANIFEST_INVALID');
      assert.match(res.body.toString(), /digest/);
    });

    it('brackets inside strings do not count as nesting', async () => {
      const doc = imageDoc(
        { ...image.config, mediaType: MT.ociConfig },
        image.layers.map((l) => ({ ...l, mediaType: MT.ociLayer })),
        { annotations: { brackets: `${'['.repeat(5000)}\\"{{{` } },
      );
      const bytes = manifestBytes(doc);
      await pushManifest(c, repo, bytes, MT.ociManifest);
    });

    it('deep nesting in an index → 400 MANIFEST_INVALID', async () => {
      const res = await putManifest(c, repo, 'deep', `{"schemaVersion":2,"mediaType":"${MT.ociIndex}","manifests":${nested(6000)}}`, MT.ociIndex);
      expectSmallError(res, 400, 'MANIFEST_INVALID');
    });
  });

  describe('descriptor sizes must match the stored content', () => {
    it('a layer declared at 99999 bytes that has 13 → 400 MANIFEST_INVALID', async () => {
      const layer = image.layers[0]!;
      const doc = imageDoc({ ...image.config, mediaType: MT.ociConfig }, [{ ...layer, size: 99999, mediaType: MT.ociLayer }]);
      const res = await putManifest(c, repo, 'liar', manifestBytes(doc), MT.ociManifest);
      expectSmallError(res, 400, 'MANIFEST_INVALID');
      expectError(await c.get(`/v2/${repo}/manifests/liar`), 404, 'MANIFEST_UNKNOWN');
    });

    it('a config declared one byte short → 400 MANIFEST_INVALID', async () => {
      const doc = imageDoc({ ...image.config, size: image.config.size - 1, mediaType: MT.ociConfig }, image.layers.map((l) => ({ ...l, mediaType: MT.ociLayer })));
      expectSmallError(await putManifest(c, repo, 'liar', manifestBytes(doc), MT.ociManifest), 400, 'MANIFEST_INVALID');
    });

    it('the same layer listed twice, once with a wrong size → 400 MANIFEST_INVALID', async () => {
      const layer = { ...image.layers[0]!, mediaType: MT.ociLayer };
      const doc = imageDoc({ ...image.config, mediaType: MT.ociConfig }, [layer, { ...layer, size: layer.size + 1 }]);
      expectSmallError(await putManifest(c, repo, 'liar', manifestBytes(doc), MT.ociManifest), 400, 'MANIFEST_INVALID');
    });

    it('an index child whose size differs from the stored manifest → 400 MANIFEST_INVALID; the right size → 201', async () => {
      const child = { mediaType: MT.ociManifest, digest: image.digest, size: image.bytes.length };
      const wrong = manifestBytes({ schemaVersion: 2, mediaType: MT.ociIndex, manifests: [{ ...child, size: child.size + 7 }] });
      expectSmallError(await putManifest(c, repo, 'liar-index', wrong, MT.ociIndex), 400, 'MANIFEST_INVALID');
      await pushManifest(c, repo, manifestBytes({ schemaVersion: 2, mediaType: MT.ociIndex, manifests: [child] }), MT.ociIndex, 'good-index');
    });

    it('a descriptor of a blob the repository lacks is still MANIFEST_BLOB_UNKNOWN', async () => {
      const doc = imageDoc({ ...image.config, mediaType: MT.ociConfig }, [{ digest: digestOf('absent'), size: 6, mediaType: MT.ociLayer }]);
      expectSmallError(await putManifest(c, repo, 'absent', manifestBytes(doc), MT.ociManifest), 400, 'MANIFEST_BLOB_UNKNOWN');
    });
  });

  describe('other endpoints', () => {
    it('tag listing: absurd n and last', async () => {
      for (const q of ['n=-1', 'n=abc', 'n=1e400', `n=${'9'.repeat(400)}`, `last=${'z'.repeat(6000)}`, 'last=%00%FF', 'n=%F0%9F%92%A5', 'n=1&n=2']) {
        const res = await c.get(`/v2/${repo}/tags/list?${q}`);
        expectHandled(res);
      }
      expectSmallError(await c.get(`/v2/${repo}/tags/list?n=-1`), 400, 'UNSUPPORTED');
    });

    it('digests: malformed, overlong, unicode, wrong algorithm', async () => {
      const bad = [`sha256:${'z'.repeat(64)}`, `sha256:${'a'.repeat(65)}`, `sha256:${'a'.repeat(6000)}`, 'md5:abc', 'sha256:%F0%9F%92%A5', `${'x'.repeat(3000)}:y`];
      for (const d of bad) {
        expectSmallError(await c.get(`/v2/${repo}/blobs/${d}`), 400, ['DIGEST_INVALID', 'NAME_INVALID']);
        expectSmallError(await c.get(`/v2/${repo}/manifests/${d}`), 400, ['DIGEST_INVALID', 'NAME_INVALID', 'TAG_INVALID']);
        expectSmallError(await c.get(`/v2/${repo}/referrers/${d}`), 400, ['DIGEST_INVALID', 'NAME_INVALID']);
      }
      expectSmallError(await c.get(`/v2/${repo}/manifests/${'t'.repeat(6000)}`), 400, 'TAG_INVALID');
    });

    it('blob ranges past the end → 416 with the error JSON', async () => {
      const layer = image.layers[0]!;
      for (const range of ['bytes=99999-', `bytes=${'9'.repeat(300)}-`, 'bytes=-0']) {
        const res = await c.get(`/v2/${repo}/blobs/${layer.digest}`, { Range: range });
        expectSmallError(res, 416, 'SIZE_INVALID');
        assert.equal(res.headers.get('content-range'), `bytes */${layer.size}`);
      }
    });

    it('chunk Content-Range: malformed and absurd values → 416 with the error JSON', async () => {
      for (const range of ['abc', `0-${'9'.repeat(400)}`, '5-1', '-1-5', 'bytes=0-3']) {
        const { location } = await startUpload(c, repo);
        const res = await c.patch(location, { headers: { 'Content-Range': range, 'Content-Type': 'application/octet-stream' }, body: 'abcd' });
        expectSmallError(res, 416, 'BLOB_UPLOAD_INVALID');
      }
    });

    it('referrers: an absurd artifactType filter is answered, never echoed unbounded', async () => {
      for (const t of ['x'.repeat(6000), '%00%01', '%F0%9F%92%A5', '[[[[', '']) {
        const res = await c.get(`/v2/${repo}/referrers/${image.digest}?artifactType=${t}`);
        expectStatus(res, 200);
        assert.ok(res.body.length < maxErrorBody, res.body.subarray(0, 300).toString());
      }
    });

    it('mount with a hostile from → 4xx JSON, or a plain upload session (202)', async () => {
      const layer = image.layers[0]!;
      for (const from of ['../../etc', 'A'.repeat(5000), '%00', '%F0%9F%92%A5', `${repo}/../x`]) {
        const res = await c.post(`/v2/${repo}/blobs/uploads/?mount=${layer.digest}&from=${from}`);
        if (res.status !== 202) expectSmallError(res, 400, 'NAME_INVALID');
      }
      expectSmallError(await c.post(`/v2/${repo}/blobs/uploads/?mount=${'x'.repeat(5000)}&from=${repo}`), 400, 'DIGEST_INVALID');
    });

    it('huge headers → 431 with the error JSON', async () => {
      const r = await rawExchange(srv.url, [`GET /v2/ HTTP/1.1\r\nHost: ${new URL(srv.url).host}\r\nX-Big: ${'a'.repeat(70_000)}\r\n\r\n`]);
      const res = r.responses[0];
      assert.ok(res, r.raw.toString('latin1').slice(0, 300));
      assert.equal(res.status, 431);
      const doc = JSON.parse(res.body.toString()) as { errors: { code: string }[] };
      assert.equal(doc.errors[0]?.code, 'SIZE_INVALID');
    });

    it('malformed request line → 400 with the error JSON', async () => {
      const r = await rawExchange(srv.url, ['GET /v2/ HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n']);
      const res = r.responses[0];
      assert.ok(res, r.raw.toString('latin1').slice(0, 300));
      assert.equal(res.status, 400);
      assert.equal((JSON.parse(res.body.toString()) as { errors: { code: string }[] }).errors[0]?.code, 'UNSUPPORTED');
    });
  });
});
