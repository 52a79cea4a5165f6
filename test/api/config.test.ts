// Behaviour that depends on configuration or on how the client reaches the registry: absolute/relative Location
// behind a reverse proxy, deletes switched off, manifest size limit, upload concurrency limit, chunk minimum.
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import { startTestServer, type TestServer } from '../support/server.js';
import { Client, expectStatus, nodeRequest, rawExchange, requireHeader, trapUncaught, type Res } from './support/http.js';
import {
  MT,
  digestOf,
  expectError,
  expectErrorStatus,
  imageDoc,
  manifestBytes,
  pushImage,
  pushRandomBlob,
  putManifest,
  randomData,
  repoName,
  startUpload,
  withQuery,
} from './support/registry.js';

describe('Location behind a reverse proxy (absolute URLs, the default)', () => {
  let srv: TestServer;
  let c: Client;
  before(async () => {
    srv = await startTestServer();
    c = new Client(srv.url);
  });
  after(async () => {
    await srv.close();
  });

  function post(repo: string, headers: Record<string, string>): Promise<Res> {
    return nodeRequest(srv.url, 'POST', `/v2/${repo}/blobs/uploads/`, { headers: { 'Content-Length': '0', ...headers } });
  }

  it('uses the Host header the client sent', async () => {
    const repo = repoName('proxy');
    const res = await post(repo, { Host: 'registry.example.com:5000' });
    expectStatus(res, 202);
    assert.ok(requireHeader(res, 'location').startsWith(`http://registry.example.com:5000/v2/${repo}/blobs/uploads/`), res.headers.get('location') ?? '');
  });

  it('honours X-Forwarded-Proto and X-Forwarded-Host', async () => {
    const repo = repoName('proxy');
    const res = await post(repo, { Host: '127.0.0.1:1', 'X-Forwarded-Proto': 'https', 'X-Forwarded-Host': 'reg.example.com' });
    expectStatus(res, 202);
    assert.ok(requireHeader(res, 'location').startsWith(`https://reg.example.com/v2/${repo}/blobs/uploads/`), res.headers.get('location') ?? '');
  });

  it('X-Forwarded-Proto alone keeps the Host', async () => {
    const repo = repoName('proxy');
    const res = await post(repo, { Host: 'reg.example.com', 'X-Forwarded-Proto': 'https' });
    expectStatus(res, 202);
    assert.ok(requireHeader(res, 'location').startsWith(`https://reg.example.com/v2/${repo}/blobs/uploads/`), res.headers.get('location') ?? '');
  });

  it('a list of forwarded hosts/protos uses the first (client-facing) one', async () => {
    const repo = repoName('proxy');
    const res = await post(repo, { Host: 'inner:5000', 'X-Forwarded-Proto': 'https, http', 'X-Forwarded-Host': 'outer.example.com, inner:5000' });
    expectStatus(res, 202);
    assert.ok(requireHeader(res, 'location').startsWith(`https://outer.example.com/v2/${repo}/blobs/uploads/`), res.headers.get('location') ?? '');
  });

  it('PATCH, blob PUT and manifest PUT Locations follow the forwarded origin too', async () => {
    const repo = repoName('proxy');
    const fwd = { Host: '127.0.0.1:1', 'X-Forwarded-Proto': 'https', 'X-Forwarded-Host': 'reg.example.com' };
    const start = await post(repo, fwd);
    expectStatus(start, 202);
    const path = new URL(requireHeader(start, 'location')).pathname + new URL(requireHeader(start, 'location')).search;
    const data = randomData(100);
    const patch = await nodeRequest(srv.url, 'PATCH', path, { headers: { ...fwd, 'Content-Type': 'application/octet-stream' }, body: data });
    expectStatus(patch, 202);
    const loc2 = requireHeader(patch, 'location');
    assert.ok(loc2.startsWith('https://reg.example.com/v2/'), loc2);
    const u2 = new URL(loc2);
    const put = await nodeRequest(srv.url, 'PUT', withQuery(u2.pathname + u2.search, { digest: digestOf(data) }), { headers: fwd });
    expectStatus(put, 201);
    assert.equal(put.headers.get('location')?.startsWith('https://reg.example.com/v2/'), true, put.headers.get('location') ?? '');
    const img = await pushImage(c, repo);
    const man = await nodeRequest(srv.url, 'PUT', `/v2/${repo}/manifests/proxied`, { headers: { ...fwd, 'Content-Type': MT.ociManifest }, body: img.bytes });
    expectStatus(man, 201);
    assert.equal(man.headers.get('location')?.startsWith(`https://reg.example.com/v2/${repo}/manifests/`), true, man.headers.get('location') ?? '');
  });

  it('a Link header, if absolute, uses the forwarded origin', async () => {
    const repo = repoName('proxy');
    await pushImage(c, repo, { tag: 'a' });
    const img = await pushImage(c, repo, { tag: 'b' });
    expectStatus(await putManifest(c, repo, 'c', img.bytes, MT.ociManifest), 201);
    const res = await nodeRequest(srv.url, 'GET', `/v2/${repo}/tags/list?n=1`, {
      headers: { Host: '127.0.0.1:1', 'X-Forwarded-Proto': 'https', 'X-Forwarded-Host': 'reg.example.com' },
    });
    expectStatus(res, 200);
    const link = requireHeader(res, 'link');
    const m = /<([^>]+)>/.exec(link);
    assert.ok(m);
    const target = m[1] ?? '';
    if (/^[a-z]+:\/\//i.test(target)) assert.ok(target.startsWith('https://reg.example.com/v2/'), link);
    else assert.ok(target.startsWith('/v2/'), link);
  });
});

describe('server.relativeUrls: true', () => {
  let srv: TestServer;
  let c: Client;
  before(async () => {
    srv = await startTestServer({ server: { relativeUrls: true } });
    c = new Client(srv.url);
  });
  after(async () => {
    await srv.close();
  });

  it('upload, blob, mount and manifest Locations are relative paths', async () => {
    const repo = repoName('rel');
    const { location } = await startUpload(c, repo);
    assert.ok(location.startsWith(`/v2/${repo}/blobs/uploads/`), location);
    const data = randomData(50);
    const patch = await c.patch(location, { headers: { 'Content-Type': 'application/octet-stream' }, body: data });
    expectStatus(patch, 202);
    const l2 = requireHeader(patch, 'location');
    assert.ok(l2.startsWith('/v2/'), l2);
    const put = await c.put(withQuery(l2, { digest: digestOf(data) }), {});
    expectStatus(put, 201);
    assert.ok(requireHeader(put, 'location').startsWith(`/v2/${repo}/blobs/`), put.headers.get('location') ?? '');

    const other = repoName('rel');
    const mount = await c.post(`/v2/${other}/blobs/uploads/?mount=${digestOf(data)}&from=${repo}`);
    expectStatus(mount, 201);
    assert.ok(requireHeader(mount, 'location').startsWith(`/v2/${other}/blobs/`), mount.headers.get('location') ?? '');

    const img = await pushImage(c, repo, { tag: 't' });
    assert.ok(requireHeader(img.res, 'location').startsWith(`/v2/${repo}/manifests/`), img.res.headers.get('location') ?? '');
  });

  it('stays relative even with X-Forwarded-* headers', async () => {
    const repo = repoName('rel');
    const res = await nodeRequest(srv.url, 'POST', `/v2/${repo}/blobs/uploads/`, {
      headers: { 'Content-Length': '0', 'X-Forwarded-Proto': 'https', 'X-Forwarded-Host': 'reg.example.com' },
    });
    expectStatus(res, 202);
    assert.ok(requireHeader(res, 'location').startsWith(`/v2/${repo}/blobs/uploads/`), res.headers.get('location') ?? '');
  });
});

describe('registry.deleteEnabled: false', () => {
  let srv: TestServer;
  let c: Client;
  before(async () => {
    srv = await startTestServer({ registry: { deleteEnabled: false } });
    c = new Client(srv.url);
  });
  after(async () => {
    await srv.close();
  });

  it('DELETE manifest by tag → 405 UNSUPPORTED; the tag stays', async () => {
    const repo = repoName('nodel');
    const img = await pushImage(c, repo, { tag: 't' });
    expectError(await c.delete(`/v2/${repo}/manifests/t`), 405, 'UNSUPPORTED');
    const get = await c.get(`/v2/${repo}/manifests/t`, { Accept: MT.ociManifest });
    expectStatus(get, 200);
    assert.deepEqual(get.body, img.bytes);
  });

  it('DELETE manifest by digest → 405 UNSUPPORTED; the manifest stays', async () => {
    const repo = repoName('nodel');
    const img = await pushImage(c, repo, { tag: 't' });
    expectError(await c.delete(`/v2/${repo}/manifests/${img.digest}`), 405, 'UNSUPPORTED');
    expectStatus(await c.head(`/v2/${repo}/manifests/${img.digest}`, { Accept: MT.ociManifest }), 200);
    expectStatus(await c.head(`/v2/${repo}/manifests/t`, { Accept: MT.ociManifest }), 200);
  });

  it('DELETE blob → 405 UNSUPPORTED; the blob stays', async () => {
    const repo = repoName('nodel');
    const b = await pushRandomBlob(c, repo);
    expectError(await c.delete(`/v2/${repo}/blobs/${b.digest}`), 405, 'UNSUPPORTED');
    expectStatus(await c.head(`/v2/${repo}/blobs/${b.digest}`), 200);
  });

  it('pushing and pulling still work', async () => {
    const repo = repoName('nodel');
    const img = await pushImage(c, repo, { tag: 'ok' });
    expectStatus(await c.get(`/v2/${repo}/manifests/ok`, { Accept: MT.ociManifest }), 200);
    expectStatus(await c.get(`/v2/${repo}/blobs/${img.config.digest}`), 200);
  });
});

describe('registry.maxManifestSize', () => {
  let srv: TestServer;
  let c: Client;
  const limit = 2048;
  before(async () => {
    srv = await startTestServer({ registry: { maxManifestSize: limit } });
    c = new Client(srv.url);
  });
  after(async () => {
    await srv.close();
  });

  async function padded(repo: string, size: number): Promise<Buffer> {
    const cfg = await pushRandomBlob(c, repo, 10);
    const empty = manifestBytes(imageDoc({ ...cfg, mediaType: MT.ociConfig }, [], { annotations: { pad: '' } })).length;
    const bytes = manifestBytes(imageDoc({ ...cfg, mediaType: MT.ociConfig }, [], { annotations: { pad: 'p'.repeat(size - empty) } }));
    assert.equal(bytes.length, size);
    return bytes;
  }

  it('a manifest of exactly the limit → 201; one byte over → 413', async () => {
    const repo = repoName('size');
    expectStatus(await putManifest(c, repo, 'at', await padded(repo, limit), MT.ociManifest), 201);
    const res = await putManifest(c, repo, 'over', await padded(repo, limit + 1), MT.ociManifest);
    expectErrorStatus(res, 413);
    expectStatus(await c.head(`/v2/${repo}/manifests/over`, { Accept: MT.ociManifest }), 404);
  });

  it('over the limit without Content-Length (chunked) → 413', async () => {
    const repo = repoName('size');
    const big = await padded(repo, limit + 500);
    const res = await nodeRequest(srv.url, 'PUT', `/v2/${repo}/manifests/chunked`, {
      headers: { 'Content-Type': MT.ociManifest },
      body: [big.subarray(0, 1000), big.subarray(1000, 2000), big.subarray(2000)],
    });
    expectErrorStatus(res, 413);
    expectStatus(await c.head(`/v2/${repo}/manifests/chunked`, { Accept: MT.ociManifest }), 404);
  });

  it('a Content-Length over the limit is refused with 413 even if the body is cut short', async () => {
    const repo = repoName('size');
    // The body never completes and we keep the connection open: the 413 must come from the declared length alone.
    const r = await rawExchange(
      srv.url,
      [
        `PUT /v2/${repo}/manifests/liar HTTP/1.1\r\nHost: ${new URL(srv.url).host}\r\nContent-Type: ${MT.ociManifest}\r\nContent-Length: ${10 * 1024 * 1024}\r\n\r\n`,
        '{"schemaVersion":2',
      ],
      { end: false, timeoutMs: 2000 },
    );
    assert.equal(r.responses[0]?.status, 413, `expected an early 413, got: ${r.raw.toString('latin1').slice(0, 500) || '(nothing)'}`);
    expectStatus(await c.get('/v2/'), 200);
  });

  it('the limit does not apply to blobs', async () => {
    const repo = repoName('size');
    const b = await pushRandomBlob(c, repo, limit * 10);
    expectStatus(await c.head(`/v2/${repo}/blobs/${b.digest}`), 200);
  });
});

describe('registry.maxConcurrentUploads', () => {
  let srv: TestServer;
  let c: Client;
  let checkUncaught: () => void = () => undefined;
  beforeEach(() => {
    checkUncaught = trapUncaught();
  });
  afterEach(async () => {
    await new Promise((r) => setTimeout(r, 20));
    checkUncaught();
  });
  before(async () => {
    srv = await startTestServer({ registry: { maxConcurrentUploads: 1 } });
    c = new Client(srv.url);
  });
  after(async () => {
    await srv.close();
  });

  /** Opens a PATCH whose body is not finished, so the upload request stays in flight. */
  function openPatch(location: string, total: number, first: Buffer): Promise<{ sock: Socket; response: Promise<string> }> {
    const u = new URL(location, srv.url);
    return new Promise((resolve, reject) => {
      const sock = connect({ host: u.hostname, port: Number(u.port) }, () => {
        sock.write(
          `PATCH ${u.pathname}${u.search} HTTP/1.1\r\nHost: ${u.host}\r\nContent-Type: application/octet-stream\r\nContent-Length: ${total}\r\nConnection: close\r\n\r\n`,
        );
        sock.write(first);
        let got = '';
        const response = new Promise<string>((res) => {
          sock.on('data', (d: Buffer) => {
            got += d.toString('latin1');
          });
          sock.on('close', () => res(got));
          sock.on('error', () => res(got));
        });
        resolve({ sock, response });
      });
      sock.once('error', reject);
    });
  }

  it('beyond the limit, upload requests get 429 TOOMANYREQUESTS; other requests are served; the slot frees', async () => {
    const repo = repoName('limit');
    const data = randomData(2000);
    const { location } = await startUpload(c, repo);
    const { sock, response } = await openPatch(location, data.length, data.subarray(0, 1000));
    try {
      await new Promise((r) => setTimeout(r, 200));
      expectError(await c.post(`/v2/${repo}/blobs/uploads/`), 429, 'TOOMANYREQUESTS');
      const small = randomData(10);
      expectError(await c.post(`/v2/${repo}/blobs/uploads/?digest=${digestOf(small)}`, { body: small }), 429, 'TOOMANYREQUESTS');
      // pulls and pings are not upload requests
      expectStatus(await c.get('/v2/'), 200);
      expectStatus(await c.get(`/v2/${repo}/blobs/${digestOf(small)}`), 404);
    } finally {
      sock.write(data.subarray(1000)); // completes the body; the server answers and closes (Connection: close)
    }
    const raw = await response;
    assert.match(raw, /^HTTP\/1\.1 202/, raw);
    // the in-flight request finished: uploads are accepted again
    const post = await c.post(`/v2/${repo}/blobs/uploads/`);
    expectStatus(post, 202);
    const st = await c.get(location);
    expectStatus(st, 204);
    assert.equal(st.headers.get('range'), '0-1999');
    expectStatus(await c.put(withQuery(location, { digest: digestOf(data) }), {}), 201);
  });

  for (const how of ['reset', 'half-close'] as const) {
    it(`an upload request aborted by the client (${how}) frees its slot`, async () => {
      const repo = repoName('limit');
      const { location } = await startUpload(c, repo);
      const { sock, response } = await openPatch(location, 5000, randomData(1000));
      await new Promise((r) => setTimeout(r, 100));
      if (how === 'reset') sock.destroy(); // the client vanishes mid-body
      else sock.end(); // EOF mid-body
      await response;
      await new Promise((r) => setTimeout(r, 200));
      expectStatus(await c.post(`/v2/${repo}/blobs/uploads/`), 202);
    });
  }

  it('sequential uploads are never refused', async () => {
    const repo = repoName('limit');
    for (let i = 0; i < 5; i += 1) await pushRandomBlob(c, repo, 100);
  });
});

describe('registry.uploadChunkMinLength', () => {
  let srv: TestServer;
  let c: Client;
  before(async () => {
    srv = await startTestServer({ registry: { uploadChunkMinLength: 1024 } });
    c = new Client(srv.url);
  });
  after(async () => {
    await srv.close();
  });

  it('POST advertises OCI-Chunk-Min-Length: 1024', async () => {
    const { res } = await startUpload(c, repoName('chunkmin'));
    assert.equal(res.headers.get('oci-chunk-min-length'), '1024');
  });

  it('chunks of at least that size, and a shorter final chunk, complete the upload', async () => {
    const repo = repoName('chunkmin');
    const data = randomData(2500);
    let { location } = await startUpload(c, repo);
    for (const [s, e] of [
      [0, 1023],
      [1024, 2047],
    ] as const) {
      const r = await c.patch(location, { headers: { 'Content-Type': 'application/octet-stream', 'Content-Range': `${s}-${e}` }, body: data.subarray(s, e + 1) });
      expectStatus(r, 202);
      location = requireHeader(r, 'location');
    }
    const put = await c.put(withQuery(location, { digest: digestOf(data) }), { headers: { 'Content-Range': '2048-2499' }, body: data.subarray(2048) });
    expectStatus(put, 201);
  });
});
