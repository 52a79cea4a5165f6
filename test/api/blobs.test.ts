// end-2 (GET/HEAD blob), end-10 (DELETE blob), Range requests.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestServer, type TestServer } from '../support/server.js';
import { Client, expectStatus, rawExchange, requireHeader } from './support/http.js';
import { digestOf, expectError, pushBlob, pushRandomBlob, randomData, repoName } from './support/registry.js';

describe('blobs', () => {
  let srv: TestServer;
  let c: Client;
  before(async () => {
    srv = await startTestServer();
    c = new Client(srv.url);
  });
  after(async () => {
    await srv.close();
  });

  describe('GET and HEAD', () => {
    it('GET returns the bytes with Content-Length, Docker-Content-Digest, ETag and Accept-Ranges', async () => {
      const repo = repoName('blobs');
      const b = await pushRandomBlob(c, repo, 3000);
      const res = await c.get(`/v2/${repo}/blobs/${b.digest}`);
      expectStatus(res, 200);
      assert.deepEqual(res.body, b.data);
      assert.equal(res.headers.get('content-length'), String(b.size));
      assert.equal(res.headers.get('docker-content-digest'), b.digest);
      assert.equal(res.headers.get('accept-ranges'), 'bytes');
      const etag = requireHeader(res, 'etag');
      assert.match(etag, /^(W\/)?"[^"]+"$/, 'ETag must be a quoted entity-tag');
    });

    it('HEAD returns the same headers and no body', async () => {
      const repo = repoName('blobs');
      const b = await pushRandomBlob(c, repo, 1234);
      const get = await c.get(`/v2/${repo}/blobs/${b.digest}`);
      const res = await c.head(`/v2/${repo}/blobs/${b.digest}`);
      expectStatus(res, 200);
      assert.equal(res.body.length, 0);
      assert.equal(res.headers.get('content-length'), '1234');
      assert.equal(res.headers.get('docker-content-digest'), b.digest);
      assert.equal(res.headers.get('accept-ranges'), 'bytes');
      assert.equal(res.headers.get('etag'), get.headers.get('etag'));
    });

    it('a zero-byte blob is served with Content-Length: 0', async () => {
      const repo = repoName('blobs');
      const b = await pushBlob(c, repo, Buffer.alloc(0));
      assert.equal(b.digest, 'sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
      const res = await c.get(`/v2/${repo}/blobs/${b.digest}`);
      expectStatus(res, 200);
      assert.equal(res.body.length, 0);
      assert.equal(res.headers.get('content-length'), '0');
      const head = await c.head(`/v2/${repo}/blobs/${b.digest}`);
      expectStatus(head, 200);
      assert.equal(head.headers.get('content-length'), '0');
    });

    it('sha512 blobs are served with a sha512 Docker-Content-Digest', async () => {
      const repo = repoName('blobs');
      const b = await pushRandomBlob(c, repo, 700, 'sha512');
      assert.match(b.digest, /^sha512:[a-f0-9]{128}$/);
      const res = await c.get(`/v2/${repo}/blobs/${b.digest}`);
      expectStatus(res, 200);
      assert.deepEqual(res.body, b.data);
      assert.equal(res.headers.get('docker-content-digest'), b.digest);
      const head = await c.head(`/v2/${repo}/blobs/${b.digest}`);
      expectStatus(head, 200);
      assert.equal(head.headers.get('content-length'), '700');
    });

    it('an unknown blob is 404 BLOB_UNKNOWN (GET) / 404 (HEAD)', async () => {
      const repo = repoName('blobs');
      await pushRandomBlob(c, repo);
      const missing = digestOf(randomData(32));
      expectError(await c.get(`/v2/${repo}/blobs/${missing}`), 404, 'BLOB_UNKNOWN');
      const head = await c.head(`/v2/${repo}/blobs/${missing}`);
      expectStatus(head, 404);
      assert.equal(head.body.length, 0);
    });

    it('a blob in a nonexistent repository is 404', async () => {
      const missing = digestOf(randomData(32));
      expectError(await c.get(`/v2/${repoName('never')}/blobs/${missing}`), 404, ['BLOB_UNKNOWN', 'NAME_UNKNOWN']);
    });

    it('a blob pushed to one repository is not served from another ("not found in the repository" → 404)', async () => {
      const a = repoName('scope');
      const b = repoName('scope');
      const blob = await pushRandomBlob(c, a);
      await pushRandomBlob(c, b); // b exists
      expectError(await c.get(`/v2/${b}/blobs/${blob.digest}`), 404, 'BLOB_UNKNOWN');
      expectStatus(await c.head(`/v2/${b}/blobs/${blob.digest}`), 404);
    });

    it('a malformed digest is 400 DIGEST_INVALID or 404, never served', async () => {
      const repo = repoName('blobs');
      const b = await pushRandomBlob(c, repo);
      const hex = b.digest.slice('sha256:'.length);
      for (const bad of [
        `sha256:${hex.slice(0, 63)}`,
        `sha256:${hex.toUpperCase()}`,
        `sha512:${hex}`,
        `md5:${hex.slice(0, 32)}`,
        hex,
        'sha256:',
        'sha256:zzzz',
      ]) {
        const res = await c.get(`/v2/${repo}/blobs/${bad}`);
        expectError(res, [400, 404], ['DIGEST_INVALID', 'BLOB_UNKNOWN']);
      }
    });
  });

  describe('Range requests', () => {
    let repo: string;
    let data: Buffer;
    let digest: string;
    before(async () => {
      repo = repoName('range');
      const b = await pushRandomBlob(c, repo, 2048);
      data = b.data;
      digest = b.digest;
    });

    it('bytes=500-1499 → 206 with Content-Range and the slice', async () => {
      const res = await c.get(`/v2/${repo}/blobs/${digest}`, { Range: 'bytes=500-1499' });
      expectStatus(res, 206);
      assert.deepEqual(res.body, data.subarray(500, 1500));
      assert.equal(res.headers.get('content-length'), '1000');
      assert.equal(res.headers.get('content-range'), 'bytes 500-1499/2048');
    });

    it('bytes=500- → 206 to the end', async () => {
      const res = await c.get(`/v2/${repo}/blobs/${digest}`, { Range: 'bytes=500-' });
      expectStatus(res, 206);
      assert.deepEqual(res.body, data.subarray(500));
      assert.equal(res.headers.get('content-length'), '1548');
      assert.equal(res.headers.get('content-range'), 'bytes 500-2047/2048');
    });

    it('bytes=-500 (suffix) → 206 with the last 500 bytes', async () => {
      const res = await c.get(`/v2/${repo}/blobs/${digest}`, { Range: 'bytes=-500' });
      expectStatus(res, 206);
      assert.deepEqual(res.body, data.subarray(1548));
      assert.equal(res.headers.get('content-range'), 'bytes 1548-2047/2048');
    });

    it('bytes=2000-5000 → 206 clipped to the end', async () => {
      const res = await c.get(`/v2/${repo}/blobs/${digest}`, { Range: 'bytes=2000-5000' });
      expectStatus(res, 206);
      assert.deepEqual(res.body, data.subarray(2000));
      assert.equal(res.headers.get('content-length'), '48');
      assert.equal(res.headers.get('content-range'), 'bytes 2000-2047/2048');
    });

    it('bytes=0-0 → 206 with one byte', async () => {
      const res = await c.get(`/v2/${repo}/blobs/${digest}`, { Range: 'bytes=0-0' });
      expectStatus(res, 206);
      assert.deepEqual(res.body, data.subarray(0, 1));
      assert.equal(res.headers.get('content-range'), 'bytes 0-0/2048');
    });

    it('an unsatisfiable range → 416 with Content-Range: bytes */2048 and the OCI error JSON, length matching', async () => {
      // Raw socket: a Content-Length that does not match the body would be hidden by fetch.
      const r = await rawExchange(srv.url, [
        `GET /v2/${repo}/blobs/${digest} HTTP/1.1\r\nHost: ${new URL(srv.url).host}\r\nRange: bytes=5000-10000\r\nConnection: close\r\n\r\n`,
      ]);
      const res = r.responses[0];
      assert.ok(res, `no response: ${r.raw.toString('latin1')}`);
      assert.equal(res.status, 416, r.raw.toString('latin1'));
      assert.equal(res.headers.get('content-range'), 'bytes */2048', r.raw.toString('latin1'));
      const headEnd = r.raw.indexOf('\r\n\r\n');
      const actualBody = r.raw.subarray(headEnd + 4);
      assert.equal(res.headers.get('content-length'), String(actualBody.length), r.raw.toString('latin1'));
      const parsed = JSON.parse(actualBody.toString('utf8')) as { errors: { code: string; message: string }[] };
      assert.equal(parsed.errors[0]?.code, 'SIZE_INVALID');
      assert.ok(!res.headers.get('transfer-encoding'), 'no chunked body on a 416');
    });

    it('HEAD with an unsatisfiable range → 416 and no body', async () => {
      const res = await c.head(`/v2/${repo}/blobs/${digest}`, { Range: 'bytes=9000-9999' });
      expectStatus(res, [416, 200]);
      assert.equal(res.body.length, 0);
    });

    it('a syntactically invalid range (bytes=500-0) is ignored (200) or refused (416)', async () => {
      const res = await c.get(`/v2/${repo}/blobs/${digest}`, { Range: 'bytes=500-0' });
      expectStatus(res, [200, 416]);
      if (res.status === 200) assert.deepEqual(res.body, data);
    });

    it('a non-bytes range unit is ignored → 200 full body', async () => {
      const res = await c.get(`/v2/${repo}/blobs/${digest}`, { Range: 'items=0-5' });
      expectStatus(res, 200);
      assert.deepEqual(res.body, data);
    });

    it('garbage Range headers never yield 5xx and never a wrong slice', async () => {
      for (const r of ['bytes=', 'bytes=-', 'bytes=abc-def', 'bytes=1-2-3', 'bytes=99999999999999999999-', 'bytes=-0', 'bytes=0-1,5-6']) {
        const res = await c.get(`/v2/${repo}/blobs/${digest}`, { Range: r });
        expectStatus(res, [200, 206, 416]);
        if (res.status === 200) assert.deepEqual(res.body, data, `Range ${r}`);
        if (res.status === 206 && !(res.headers.get('content-type') ?? '').startsWith('multipart/')) {
          const m = /^bytes (\d+)-(\d+)\/2048$/.exec(res.headers.get('content-range') ?? '');
          assert.ok(m, `Range ${r}: bad Content-Range ${res.headers.get('content-range')}`);
          assert.deepEqual(res.body, data.subarray(Number(m[1]), Number(m[2]) + 1));
        }
      }
    });
  });

  describe('DELETE', () => {
    it('DELETE → 202, then GET/HEAD → 404 BLOB_UNKNOWN', async () => {
      const repo = repoName('del');
      const b = await pushRandomBlob(c, repo);
      const res = await c.delete(`/v2/${repo}/blobs/${b.digest}`);
      expectStatus(res, 202);
      expectError(await c.get(`/v2/${repo}/blobs/${b.digest}`), 404, 'BLOB_UNKNOWN');
      expectStatus(await c.head(`/v2/${repo}/blobs/${b.digest}`), 404);
    });

    it('DELETE of an unknown blob → 404 BLOB_UNKNOWN', async () => {
      const repo = repoName('del');
      await pushRandomBlob(c, repo);
      expectError(await c.delete(`/v2/${repo}/blobs/${digestOf(randomData(10))}`), 404, 'BLOB_UNKNOWN');
    });

    it('DELETE in one repository leaves the same blob in another repository intact', async () => {
      const a = repoName('del');
      const b = repoName('del');
      const data = randomData(500);
      const ba = await pushBlob(c, a, data);
      await pushBlob(c, b, data);
      expectStatus(await c.delete(`/v2/${a}/blobs/${ba.digest}`), 202);
      const res = await c.get(`/v2/${b}/blobs/${ba.digest}`);
      expectStatus(res, 200);
      assert.deepEqual(res.body, data);
    });

    it('a deleted blob can be pushed again', async () => {
      const repo = repoName('del');
      const b = await pushRandomBlob(c, repo, 100);
      expectStatus(await c.delete(`/v2/${repo}/blobs/${b.digest}`), 202);
      await pushBlob(c, repo, b.data);
      const res = await c.get(`/v2/${repo}/blobs/${b.digest}`);
      expectStatus(res, 200);
      assert.deepEqual(res.body, b.data);
    });

    it('DELETE of a sha512 blob → 202', async () => {
      const repo = repoName('del');
      const b = await pushRandomBlob(c, repo, 100, 'sha512');
      expectStatus(await c.delete(`/v2/${repo}/blobs/${b.digest}`), 202);
      expectStatus(await c.head(`/v2/${repo}/blobs/${b.digest}`), 404);
    });
  });
});
