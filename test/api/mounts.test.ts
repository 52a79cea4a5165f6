// end-11: cross-repository blob mount.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestServer, type TestServer } from '../support/server.js';
import { Client, expectStatus, requireHeader } from './support/http.js';
import { digestOf, expectError, pushRandomBlob, randomData, repoName, withQuery } from './support/registry.js';

describe('cross-repository mount', () => {
  let srv: TestServer;
  let c: Client;
  before(async () => {
    srv = await startTestServer();
    c = new Client(srv.url);
  });
  after(async () => {
    await srv.close();
  });

  it('?mount=<digest>&from=<repo> → 201 with Location and Docker-Content-Digest; the blob is then in the target', async () => {
    const from = repoName('src');
    const to = repoName('dst');
    const b = await pushRandomBlob(c, from, 777);
    const res = await c.post(`/v2/${to}/blobs/uploads/?mount=${b.digest}&from=${from}`);
    expectStatus(res, 201);
    assert.equal(res.headers.get('docker-content-digest'), b.digest);
    const got = await c.get(requireHeader(res, 'location'));
    expectStatus(got, 200);
    assert.deepEqual(got.body, b.data);
    const direct = await c.get(`/v2/${to}/blobs/${b.digest}`);
    expectStatus(direct, 200);
    assert.deepEqual(direct.body, b.data);
    // the source keeps it
    expectStatus(await c.head(`/v2/${from}/blobs/${b.digest}`), 200);
  });

  it('mounting a sha512 blob → 201', async () => {
    const from = repoName('src');
    const to = repoName('dst');
    const b = await pushRandomBlob(c, from, 100, 'sha512');
    const res = await c.post(`/v2/${to}/blobs/uploads/?mount=${b.digest}&from=${from}`);
    expectStatus(res, 201);
    assert.equal(res.headers.get('docker-content-digest'), b.digest);
    expectStatus(await c.head(`/v2/${to}/blobs/${b.digest}`), 200);
  });

  it('a mount the registry cannot do (blob not in from) → 202 and a normal upload session that works', async () => {
    const from = repoName('src');
    const to = repoName('dst');
    await pushRandomBlob(c, from);
    const data = randomData(600);
    const digest = digestOf(data);
    const res = await c.post(`/v2/${to}/blobs/uploads/?mount=${digest}&from=${from}`);
    expectStatus(res, 202);
    const loc = requireHeader(res, 'location');
    assert.ok(requireHeader(res, 'docker-upload-uuid'));
    expectError(await c.get(`/v2/${to}/blobs/${digest}`), 404, 'BLOB_UNKNOWN');
    const put = await c.put(withQuery(loc, { digest }), { headers: { 'Content-Type': 'application/octet-stream' }, body: data });
    expectStatus(put, 201);
    const got = await c.get(`/v2/${to}/blobs/${digest}`);
    expectStatus(got, 200);
    assert.deepEqual(got.body, data);
  });

  it('mount from a repository that does not exist → 202', async () => {
    const to = repoName('dst');
    const digest = digestOf(randomData(10));
    const res = await c.post(`/v2/${to}/blobs/uploads/?mount=${digest}&from=${repoName('nope')}`);
    expectStatus(res, 202);
    assert.ok(requireHeader(res, 'location'));
  });

  it('mount without from, when the blob exists elsewhere in the registry → 201', async () => {
    const from = repoName('src');
    const to = repoName('dst');
    const b = await pushRandomBlob(c, from, 321);
    const res = await c.post(`/v2/${to}/blobs/uploads/?mount=${b.digest}`);
    expectStatus(res, 201);
    assert.equal(res.headers.get('docker-content-digest'), b.digest);
    const got = await c.get(`/v2/${to}/blobs/${b.digest}`);
    expectStatus(got, 200);
    assert.deepEqual(got.body, b.data);
  });

  it('mount without from, when the blob exists nowhere → 202', async () => {
    const to = repoName('dst');
    const res = await c.post(`/v2/${to}/blobs/uploads/?mount=${digestOf(randomData(10))}`);
    expectStatus(res, 202);
  });

  it('mount of a blob already in the target repository → 201', async () => {
    const repo = repoName('self');
    const b = await pushRandomBlob(c, repo);
    const res = await c.post(`/v2/${repo}/blobs/uploads/?mount=${b.digest}&from=${repo}`);
    expectStatus(res, 201);
  });

  it('a blob deleted from its only repository can no longer be mounted', async () => {
    const from = repoName('src');
    const to = repoName('dst');
    const b = await pushRandomBlob(c, from);
    expectStatus(await c.delete(`/v2/${from}/blobs/${b.digest}`), 202);
    expectStatus(await c.post(`/v2/${to}/blobs/uploads/?mount=${b.digest}&from=${from}`), 202);
    expectStatus(await c.head(`/v2/${to}/blobs/${b.digest}`), 404);
  });

  it('a malformed mount digest → 400 DIGEST_INVALID, or ignored (202 session)', async () => {
    const to = repoName('dst');
    for (const bad of ['sha256:abc', 'garbage', 'sha256:' + 'Z'.repeat(64)]) {
      const res = await c.post(`/v2/${to}/blobs/uploads/?mount=${encodeURIComponent(bad)}&from=${repoName('x')}`);
      if (res.status === 202) continue;
      expectError(res, 400, 'DIGEST_INVALID');
    }
  });

  it('a malformed from name → 400 NAME_INVALID, or ignored (202 session); never mounts', async () => {
    const src = repoName('src');
    const b = await pushRandomBlob(c, src);
    const to = repoName('dst');
    for (const bad of ['../' + src, 'UPPER', src + '/..', '%2e%2e']) {
      const res = await c.post(`/v2/${to}/blobs/uploads/?mount=${b.digest}&from=${encodeURIComponent(bad)}`);
      if (res.status === 202) continue;
      expectError(res, 400, 'NAME_INVALID');
    }
  });

  it('an unfinished upload in the source cannot be mounted', async () => {
    const from = repoName('src');
    const to = repoName('dst');
    await pushRandomBlob(c, from);
    const data = randomData(1000);
    const digest = digestOf(data);
    const post = await c.post(`/v2/${from}/blobs/uploads/`);
    expectStatus(post, 202);
    expectStatus(
      await c.patch(requireHeader(post, 'location'), { headers: { 'Content-Type': 'application/octet-stream', 'Content-Range': '0-999' }, body: data }),
      202,
    );
    expectStatus(await c.post(`/v2/${to}/blobs/uploads/?mount=${digest}&from=${from}`), 202);
    expectStatus(await c.post(`/v2/${to}/blobs/uploads/?mount=${digest}`), 202);
    expectStatus(await c.head(`/v2/${to}/blobs/${digest}`), 404);
  });
});
