// end-4a/4b/4c (POST uploads), end-5 (PATCH), end-6 (PUT), end-13 (GET status), end-14 (DELETE cancel).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestServer, type TestServer } from '../support/server.js';
import { Client, expectStatus, requireHeader, type Res } from './support/http.js';
import { digestOf, expectError, expectErrorStatus, pushRandomBlob, randomData, repoName, startUpload, withQuery } from './support/registry.js';

const OCTET = { 'Content-Type': 'application/octet-stream' };

describe('blob uploads', () => {
  let srv: TestServer;
  let c: Client;
  before(async () => {
    srv = await startTestServer();
    c = new Client(srv.url);
  });
  after(async () => {
    await srv.close();
  });

  async function expectBlob(repo: string, data: Buffer, digest: string): Promise<void> {
    const res = await c.get(`/v2/${repo}/blobs/${digest}`);
    expectStatus(res, 200);
    assert.deepEqual(res.body, data);
    assert.equal(res.headers.get('docker-content-digest'), digest);
  }

  async function expectNoBlob(repo: string, digest: string): Promise<void> {
    expectError(await c.get(`/v2/${repo}/blobs/${digest}`), 404, 'BLOB_UNKNOWN');
    expectStatus(await c.head(`/v2/${repo}/blobs/${digest}`), 404);
  }

  function patch(loc: string, chunk: Buffer, range?: string): Promise<Res> {
    const headers: Record<string, string> = { ...OCTET };
    if (range !== undefined) headers['Content-Range'] = range;
    return c.patch(loc, { headers, body: chunk });
  }

  describe('POST (start a session)', () => {
    it('POST → 202 with Location, Docker-Upload-UUID and Range: 0-0', async () => {
      const repo = repoName('up');
      const res = await c.post(`/v2/${repo}/blobs/uploads/`, { headers: { 'Content-Length': '0' } });
      expectStatus(res, 202);
      const loc = requireHeader(res, 'location');
      const uuid = requireHeader(res, 'docker-upload-uuid');
      assert.ok(loc.includes(uuid), `Location ${loc} must contain the session id ${uuid}`);
      assert.equal(res.headers.get('range'), '0-0');
    });

    it('each POST opens a distinct session', async () => {
      const repo = repoName('up');
      const a = await startUpload(c, repo);
      const b = await startUpload(c, repo);
      assert.notEqual(a.res.headers.get('docker-upload-uuid'), b.res.headers.get('docker-upload-uuid'));
      assert.notEqual(a.location, b.location);
    });

    it('the default Location is absolute, built from the Host the client used', async () => {
      const repo = repoName('up');
      const { location } = await startUpload(c, repo);
      assert.ok(location.startsWith(`${srv.url}/v2/${repo}/blobs/uploads/`), `Location ${location}`);
    });

    it('OCI-Chunk-Min-Length, if advertised, is a non-negative integer', async () => {
      const { res } = await startUpload(c, repoName('up'));
      const v = res.headers.get('oci-chunk-min-length');
      if (v !== null) assert.match(v, /^\d+$/);
    });
  });

  describe('monolithic', () => {
    it('POST then PUT ?digest= with the body → 201, Location pulls the blob, Docker-Content-Digest', async () => {
      const repo = repoName('mono');
      const data = randomData(4096);
      const digest = digestOf(data);
      const { location } = await startUpload(c, repo);
      const put = await c.put(withQuery(location, { digest }), { headers: OCTET, body: data });
      expectStatus(put, 201);
      assert.equal(put.headers.get('docker-content-digest'), digest);
      const blobLoc = requireHeader(put, 'location');
      const got = await c.get(blobLoc);
      expectStatus(got, 200);
      assert.deepEqual(got.body, data);
      await expectBlob(repo, data, digest);
    });

    it('single POST ?digest= with the body → 201 with Location', async () => {
      const repo = repoName('mono');
      const data = randomData(2000);
      const digest = digestOf(data);
      const res = await c.post(`/v2/${repo}/blobs/uploads/?digest=${digest}`, { headers: OCTET, body: data });
      expectStatus(res, 201);
      assert.equal(res.headers.get('docker-content-digest'), digest);
      const got = await c.get(requireHeader(res, 'location'));
      expectStatus(got, 200);
      assert.deepEqual(got.body, data);
      await expectBlob(repo, data, digest);
    });

    it('single POST with sha512 → 201', async () => {
      const repo = repoName('mono');
      const data = randomData(900);
      const digest = digestOf(data, 'sha512');
      const res = await c.post(`/v2/${repo}/blobs/uploads/?digest=${digest}`, { headers: OCTET, body: data });
      expectStatus(res, 201);
      assert.equal(res.headers.get('docker-content-digest'), digest);
      await expectBlob(repo, data, digest);
    });

    it('single POST with a wrong digest → 400 DIGEST_INVALID and nothing becomes visible', async () => {
      const repo = repoName('mono');
      await pushRandomBlob(c, repo);
      const data = randomData(1000);
      const claimed = digestOf(randomData(1000));
      const res = await c.post(`/v2/${repo}/blobs/uploads/?digest=${claimed}`, { headers: OCTET, body: data });
      expectError(res, 400, 'DIGEST_INVALID');
      await expectNoBlob(repo, claimed);
      await expectNoBlob(repo, digestOf(data));
    });

    it('PUT with a wrong digest → 400 DIGEST_INVALID; neither digest becomes visible', async () => {
      const repo = repoName('mono');
      await pushRandomBlob(c, repo);
      const data = randomData(1500);
      const claimed = digestOf(Buffer.concat([data, Buffer.from('oh no')]));
      const { location } = await startUpload(c, repo);
      const put = await c.put(withQuery(location, { digest: claimed }), { headers: OCTET, body: data });
      expectError(put, 400, 'DIGEST_INVALID');
      await expectNoBlob(repo, claimed);
      await expectNoBlob(repo, digestOf(data));
      // and the registry does not know it anywhere: an anonymous mount of the real digest cannot succeed
      const mount = await c.post(`/v2/${repoName('mono')}/blobs/uploads/?mount=${digestOf(data)}`);
      expectStatus(mount, 202);
    });

    it('PUT with a wrong sha512 digest → 400 DIGEST_INVALID', async () => {
      const repo = repoName('mono');
      const data = randomData(100);
      const claimed = digestOf(randomData(100), 'sha512');
      const { location } = await startUpload(c, repo);
      expectError(await c.put(withQuery(location, { digest: claimed }), { headers: OCTET, body: data }), 400, 'DIGEST_INVALID');
      await expectNoBlob(repo, claimed);
    });

    it('PUT without ?digest= → 400 DIGEST_INVALID', async () => {
      const repo = repoName('mono');
      const { location } = await startUpload(c, repo);
      expectError(await c.put(location, { headers: OCTET, body: randomData(10) }), 400, 'DIGEST_INVALID');
    });

    it('PUT with a malformed digest → 400 DIGEST_INVALID', async () => {
      const repo = repoName('mono');
      for (const bad of ['sha256:abc', 'sha256:' + 'A'.repeat(64), 'md5:d41d8cd98f00b204e9800998ecf8427e', 'nonsense', 'sha256:']) {
        const { location } = await startUpload(c, repo);
        expectError(await c.put(withQuery(location, { digest: bad }), { headers: OCTET, body: randomData(10) }), 400, 'DIGEST_INVALID');
      }
    });

    it('a zero-byte blob can be pushed', async () => {
      const repo = repoName('mono');
      const digest = digestOf(Buffer.alloc(0));
      const { location } = await startUpload(c, repo);
      const put = await c.put(withQuery(location, { digest }), { headers: { 'Content-Length': '0' } });
      expectStatus(put, 201);
      await expectBlob(repo, Buffer.alloc(0), digest);
    });

    it('pushing a blob that already exists → 201 again', async () => {
      const repo = repoName('mono');
      const b = await pushRandomBlob(c, repo, 100);
      const { location } = await startUpload(c, repo);
      expectStatus(await c.put(withQuery(location, { digest: b.digest }), { headers: OCTET, body: b.data }), 201);
      await expectBlob(repo, b.data, b.digest);
    });
  });

  describe('chunked (PATCH with Content-Range)', () => {
    it('three ordered chunks, then PUT without body → 201; each PATCH → 202 with Location and Range', async () => {
      const repo = repoName('chunk');
      const data = randomData(3000);
      const digest = digestOf(data);
      let { location } = await startUpload(c, repo);
      for (const [s, e] of [
        [0, 999],
        [1000, 1999],
        [2000, 2999],
      ] as const) {
        const res = await patch(location, data.subarray(s, e + 1), `${s}-${e}`);
        expectStatus(res, 202);
        assert.equal(res.headers.get('range'), `0-${e}`);
        location = requireHeader(res, 'location');
        assert.ok(requireHeader(res, 'docker-upload-uuid'));
      }
      const put = await c.put(withQuery(location, { digest }), { headers: { 'Content-Length': '0' } });
      expectStatus(put, 201);
      assert.equal(put.headers.get('docker-content-digest'), digest);
      await expectBlob(repo, data, digest);
    });

    it('the last chunk may come with the closing PUT (Content-Range) → 201', async () => {
      const repo = repoName('chunk');
      const data = randomData(2500);
      const digest = digestOf(data);
      let { location } = await startUpload(c, repo);
      const r1 = await patch(location, data.subarray(0, 1000), '0-999');
      expectStatus(r1, 202);
      location = requireHeader(r1, 'location');
      const put = await c.put(withQuery(location, { digest }), {
        headers: { ...OCTET, 'Content-Range': '1000-2499' },
        body: data.subarray(1000),
      });
      expectStatus(put, 201);
      await expectBlob(repo, data, digest);
    });

    it('the last chunk may come with the closing PUT without Content-Range → 201', async () => {
      const repo = repoName('chunk');
      const data = randomData(2500);
      const digest = digestOf(data);
      let { location } = await startUpload(c, repo);
      const r1 = await patch(location, data.subarray(0, 1000), '0-999');
      expectStatus(r1, 202);
      location = requireHeader(r1, 'location');
      expectStatus(await c.put(withQuery(location, { digest }), { headers: OCTET, body: data.subarray(1000) }), 201);
      await expectBlob(repo, data, digest);
    });

    it('an out-of-order chunk → 416; GET status still reports the old offset; the upload then completes', async () => {
      const repo = repoName('chunk');
      const data = randomData(3000);
      const digest = digestOf(data);
      let { location } = await startUpload(c, repo);
      const r1 = await patch(location, data.subarray(0, 1000), '0-999');
      expectStatus(r1, 202);
      location = requireHeader(r1, 'location');

      expectErrorStatus(await patch(location, data.subarray(2000, 3000), '2000-2999'), 416); // skips ahead
      expectErrorStatus(await patch(location, data.subarray(0, 1000), '0-999'), 416); // goes back
      expectErrorStatus(await patch(location, data.subarray(500, 1500), '500-1499'), 416); // overlaps

      const st = await c.get(location);
      expectStatus(st, 204);
      assert.equal(st.headers.get('range'), '0-999');
      location = requireHeader(st, 'location');

      const r2 = await patch(location, data.subarray(1000, 2000), '1000-1999');
      expectStatus(r2, 202);
      assert.equal(r2.headers.get('range'), '0-1999');
      location = requireHeader(r2, 'location');
      const put = await c.put(withQuery(location, { digest }), { headers: OCTET, body: data.subarray(2000), });
      expectStatus(put, 201);
      await expectBlob(repo, data, digest);
    });

    it('the first chunk must start at 0 → 416 otherwise', async () => {
      const repo = repoName('chunk');
      const { location } = await startUpload(c, repo);
      expectErrorStatus(await patch(location, randomData(100), '100-199'), 416);
      const st = await c.get(location);
      expectStatus(st, 204);
      assert.equal(st.headers.get('range'), '0-0');
    });

    it('an out-of-order final chunk on PUT → 416 and the blob is not created', async () => {
      const repo = repoName('chunk');
      const data = randomData(2000);
      const digest = digestOf(data);
      let { location } = await startUpload(c, repo);
      const r1 = await patch(location, data.subarray(0, 1000), '0-999');
      expectStatus(r1, 202);
      location = requireHeader(r1, 'location');
      const put = await c.put(withQuery(location, { digest }), {
        headers: { ...OCTET, 'Content-Range': '1500-1999' },
        body: data.subarray(1500),
      });
      expectErrorStatus(put, 416);
      await expectNoBlob(repo, digest);
    });

    it('a Content-Range that disagrees with the body length is refused and changes nothing', async () => {
      const repo = repoName('chunk');
      let { location } = await startUpload(c, repo);
      const r1 = await patch(location, randomData(100), '0-99');
      expectStatus(r1, 202);
      location = requireHeader(r1, 'location');
      const bad = await patch(location, randomData(50), '100-199');
      expectErrorStatus(bad, [400, 416]);
      const st = await c.get(location);
      expectStatus(st, 204);
      assert.equal(st.headers.get('range'), '0-99');
    });

    it('a malformed Content-Range is refused (400/416)', async () => {
      const repo = repoName('chunk');
      for (const cr of ['abc', '0-', '-9', '9-0', '0-9-1', '0-9, 10-19', '99999999999999999999999-99999999999999999999999']) {
        const { location } = await startUpload(c, repo);
        const res = await patch(location, randomData(10), cr);
        assert.ok(res.status === 400 || res.status === 416, `Content-Range ${JSON.stringify(cr)} → ${res.status}`);
        expectErrorStatus(res, [400, 416]);
      }
      // the RFC 9110 form is not the spec's, but a lenient registry may take it — if so, it must honour it
      const { location } = await startUpload(c, repo);
      const res = await patch(location, randomData(10), 'bytes 0-9/10');
      if (res.status === 202) assert.equal(res.headers.get('range'), '0-9');
      else expectErrorStatus(res, [400, 416]);
    });

    it('the data of an unfinished upload is not visible (GET of its digest → 404 BLOB_UNKNOWN)', async () => {
      const repo = repoName('chunk');
      await pushRandomBlob(c, repo);
      const data = randomData(2000);
      const digest = digestOf(data);
      const { location } = await startUpload(c, repo);
      // all the bytes, but not yet closed with PUT
      expectStatus(await patch(location, data, '0-1999'), 202);
      await expectNoBlob(repo, digest);
    });
  });

  describe('streamed (PATCH without Content-Range)', () => {
    it('one streamed PATCH then PUT → 201', async () => {
      const repo = repoName('stream');
      const data = randomData(5000);
      const digest = digestOf(data);
      const { location } = await startUpload(c, repo);
      const res = await patch(location, data);
      expectStatus(res, 202);
      assert.equal(res.headers.get('range'), '0-4999');
      const loc2 = requireHeader(res, 'location');
      expectStatus(await c.put(withQuery(loc2, { digest }), { headers: { 'Content-Length': '0' } }), 201);
      await expectBlob(repo, data, digest);
    });

    it('several streamed PATCHes append', async () => {
      const repo = repoName('stream');
      const data = randomData(3000);
      const digest = digestOf(data);
      let { location } = await startUpload(c, repo);
      for (let i = 0; i < 3; i += 1) {
        const res = await patch(location, data.subarray(i * 1000, (i + 1) * 1000));
        expectStatus(res, 202);
        assert.equal(res.headers.get('range'), `0-${(i + 1) * 1000 - 1}`);
        location = requireHeader(res, 'location');
      }
      expectStatus(await c.put(withQuery(location, { digest }), {}), 201);
      await expectBlob(repo, data, digest);
    });

    it('streamed and ranged chunks mix', async () => {
      const repo = repoName('stream');
      const data = randomData(2000);
      const digest = digestOf(data);
      let { location } = await startUpload(c, repo);
      const r1 = await patch(location, data.subarray(0, 700));
      expectStatus(r1, 202);
      location = requireHeader(r1, 'location');
      const r2 = await patch(location, data.subarray(700), '700-1999');
      expectStatus(r2, 202);
      location = requireHeader(r2, 'location');
      expectStatus(await c.put(withQuery(location, { digest }), {}), 201);
      await expectBlob(repo, data, digest);
    });

    it('streamed upload with a wrong digest at PUT → 400 DIGEST_INVALID, nothing visible', async () => {
      const repo = repoName('stream');
      await pushRandomBlob(c, repo);
      const data = randomData(1000);
      const claimed = digestOf(randomData(1000));
      const { location } = await startUpload(c, repo);
      const r = await patch(location, data);
      expectStatus(r, 202);
      expectError(await c.put(withQuery(requireHeader(r, 'location'), { digest: claimed }), {}), 400, 'DIGEST_INVALID');
      await expectNoBlob(repo, claimed);
      await expectNoBlob(repo, digestOf(data));
    });
  });

  describe('digest algorithms', () => {
    it('?digest-algorithm=sha512 then PUT ?digest=sha512:… → 201', async () => {
      const repo = repoName('algo');
      const data = randomData(1200);
      const digest = digestOf(data, 'sha512');
      let { location } = await startUpload(c, repo, '?digest-algorithm=sha512');
      const r = await patch(location, data, '0-1199');
      expectStatus(r, 202);
      location = requireHeader(r, 'location');
      const put = await c.put(withQuery(location, { digest }), {});
      expectStatus(put, 201);
      assert.equal(put.headers.get('docker-content-digest'), digest);
      await expectBlob(repo, data, digest);
    });

    it('a sha512 digest on PUT works without ?digest-algorithm (as the conformance suite pushes)', async () => {
      const repo = repoName('algo');
      const data = randomData(800);
      const digest = digestOf(data, 'sha512');
      const { location } = await startUpload(c, repo);
      const put = await c.put(withQuery(location, { digest }), { headers: OCTET, body: data });
      expectStatus(put, 201);
      assert.equal(put.headers.get('docker-content-digest'), digest);
      await expectBlob(repo, data, digest);
    });

    it('an unsupported ?digest-algorithm → 400', async () => {
      const repo = repoName('algo');
      const res = await c.post(`/v2/${repo}/blobs/uploads/?digest-algorithm=md5`, { headers: { 'Content-Length': '0' } });
      expectError(res, 400, ['DIGEST_INVALID', 'UNSUPPORTED']);
    });
  });

  describe('status and cancel', () => {
    it('GET on an active session → 204 with Location, Range and no body', async () => {
      const repo = repoName('status');
      let { location } = await startUpload(c, repo);
      const r = await patch(location, randomData(321), '0-320');
      expectStatus(r, 202);
      location = requireHeader(r, 'location');
      const st = await c.get(location);
      expectStatus(st, 204);
      assert.equal(st.headers.get('range'), '0-320');
      assert.ok(requireHeader(st, 'location'));
      assert.equal(st.body.length, 0);
    });

    it('DELETE cancels → 204; the session is then unknown (GET/PATCH/PUT → 404 BLOB_UPLOAD_UNKNOWN)', async () => {
      const repo = repoName('cancel');
      const data = randomData(100);
      const { location } = await startUpload(c, repo);
      expectStatus(await patch(location, data, '0-99'), 202);
      const del = await c.delete(location, { 'Content-Length': '0' });
      expectStatus(del, 204);
      expectError(await c.get(location), 404, 'BLOB_UPLOAD_UNKNOWN');
      expectError(await patch(location, data, '100-199'), 404, 'BLOB_UPLOAD_UNKNOWN');
      expectError(await c.put(withQuery(location, { digest: digestOf(data) }), {}), 404, 'BLOB_UPLOAD_UNKNOWN');
      expectError(await c.delete(location), 404, 'BLOB_UPLOAD_UNKNOWN');
      await expectNoBlob(repo, digestOf(data));
    });

    it('a completed session is gone: GET on its location → 404 BLOB_UPLOAD_UNKNOWN', async () => {
      const repo = repoName('status');
      const data = randomData(10);
      const { location } = await startUpload(c, repo);
      expectStatus(await c.put(withQuery(location, { digest: digestOf(data) }), { headers: OCTET, body: data }), 201);
      expectError(await c.get(location), 404, 'BLOB_UPLOAD_UNKNOWN');
      expectError(await patch(location, data), 404, 'BLOB_UPLOAD_UNKNOWN');
    });

    it('an unknown session id → 404 BLOB_UPLOAD_UNKNOWN for GET, PATCH, PUT and DELETE', async () => {
      const repo = repoName('status');
      await pushRandomBlob(c, repo);
      const base = `/v2/${repo}/blobs/uploads/3f1e2d4c-0000-4000-8000-000000000000`;
      expectError(await c.get(base), 404, 'BLOB_UPLOAD_UNKNOWN');
      expectError(await patch(base, randomData(10)), 404, 'BLOB_UPLOAD_UNKNOWN');
      expectError(await c.put(withQuery(base, { digest: digestOf('x') }), { body: 'x' }), 404, 'BLOB_UPLOAD_UNKNOWN');
      expectError(await c.delete(base), 404, 'BLOB_UPLOAD_UNKNOWN');
    });

    it('a malformed session id → 404 BLOB_UPLOAD_UNKNOWN (or 400), not 5xx', async () => {
      const repo = repoName('status');
      for (const id of ['not-a-uuid', 'x'.repeat(300), '%00', "';drop", '%2F..%2F..']) {
        expectError(await c.get(`/v2/${repo}/blobs/uploads/${id}`), [400, 404], ['BLOB_UPLOAD_UNKNOWN', 'BLOB_UPLOAD_INVALID', 'NAME_INVALID']);
      }
    });

    it('a session belongs to its repository: using it under another repository → 404 BLOB_UPLOAD_UNKNOWN', async () => {
      const a = repoName('own');
      const b = repoName('own');
      await pushRandomBlob(c, b);
      const { location, res } = await startUpload(c, a);
      const uuid = requireHeader(res, 'docker-upload-uuid');
      const other = `/v2/${b}/blobs/uploads/${uuid}`;
      expectError(await c.get(other), 404, 'BLOB_UPLOAD_UNKNOWN');
      const data = randomData(10);
      expectError(await c.put(withQuery(other, { digest: digestOf(data) }), { headers: OCTET, body: data }), 404, 'BLOB_UPLOAD_UNKNOWN');
      await expectNoBlob(b, digestOf(data));
      // the session itself is untouched
      expectStatus(await c.get(location), 204);
    });
  });

  describe('concurrency', () => {
    it('two PATCHes racing for the same offset: one wins, the other gets 416; no byte is stored twice', async () => {
      const repo = repoName('race');
      const data = randomData(50_000);
      const { location } = await startUpload(c, repo);
      const [a, b] = await Promise.all([patch(location, data, '0-49999'), patch(location, data, '0-49999')]);
      const statuses = [a.status, b.status].sort();
      assert.deepEqual(statuses, [202, 416], `statuses ${statuses.join(',')}`);
      const st = await c.get(location);
      expectStatus(st, 204);
      assert.equal(st.headers.get('range'), '0-49999');
      const put = await c.put(withQuery(location, { digest: digestOf(data) }), {});
      expectStatus(put, 201);
      await expectBlob(repo, data, digestOf(data));
    });

    it('the same blob uploaded by two sessions at once: both 201, one blob', async () => {
      const repo = repoName('race');
      const data = randomData(100_000);
      const digest = digestOf(data);
      const [s1, s2] = await Promise.all([startUpload(c, repo), startUpload(c, repo)]);
      const [p1, p2] = await Promise.all([
        c.put(withQuery(s1.location, { digest }), { headers: OCTET, body: data }),
        c.put(withQuery(s2.location, { digest }), { headers: OCTET, body: data }),
      ]);
      expectStatus(p1, 201);
      expectStatus(p2, 201);
      await expectBlob(repo, data, digest);
    });
  });

  describe('names', () => {
    it('POST to an invalid repository name → 400 NAME_INVALID', async () => {
      for (const name of ['UPPER', 'Upper/case', '-a', 'a-', 'a..b', 'a_-b', 'a___b', 'a/.b', 'a%20b']) {
        expectError(await c.post(`/v2/${name}/blobs/uploads/`), 400, 'NAME_INVALID');
      }
      // empty path components may not even route: 400 NAME_INVALID or a plain 404
      for (const name of ['a//b', 'a/']) {
        expectError(await c.post(`/v2/${name}/blobs/uploads/`), [400, 404], ['NAME_INVALID', 'NAME_UNKNOWN']);
      }
    });

    it('multi-component names and all separators are accepted', async () => {
      for (const name of ['a', 'a/b/c/d', 'a.b_c__d---e/f0', '0/1', 'library/ubuntu']) {
        const data = randomData(5);
        const { location } = await startUpload(c, name);
        expectStatus(await c.put(withQuery(location, { digest: digestOf(data) }), { headers: OCTET, body: data }), 201);
        await expectBlob(name, data, digestOf(data));
      }
    });
  });
});
