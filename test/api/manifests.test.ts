// end-3 (GET/HEAD manifest), end-7a/7b (PUT), end-9 (DELETE).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestServer, type TestServer } from '../support/server.js';
import { Client, expectStatus, json, nodeRequest, requireHeader, type Res } from './support/http.js';
import {
  EMPTY_JSON,
  MT,
  digestOf,
  expectError,
  expectErrorStatus,
  imageDoc,
  manifestBytes,
  platformDescriptor,
  pushBlob,
  pushImage,
  pushIndex,
  pushManifest,
  pushRandomBlob,
  putManifest,
  randomData,
  repoName,
  splitHeaderList,
  type Descriptor,
} from './support/registry.js';

const ALL_ACCEPT = [MT.ociManifest, MT.ociIndex, MT.dockerManifest, MT.dockerList].join(', ');

describe('manifests', () => {
  let srv: TestServer;
  let c: Client;
  before(async () => {
    srv = await startTestServer();
    c = new Client(srv.url);
  });
  after(async () => {
    await srv.close();
  });

  /** GET by ref returns exactly these bytes, with the right Content-Type, Content-Length and Docker-Content-Digest. */
  async function expectManifest(repo: string, ref: string, bytes: Buffer, mediaType: string, digest = digestOf(bytes)): Promise<Res> {
    const res = await c.get(`/v2/${repo}/manifests/${ref}`, { Accept: ALL_ACCEPT });
    expectStatus(res, 200);
    assert.deepEqual(res.body, bytes, 'the registry must return the exact bytes pushed');
    assert.equal(res.headers.get('content-type'), mediaType);
    assert.equal(res.headers.get('content-length'), String(bytes.length));
    assert.equal(res.headers.get('docker-content-digest'), digest);
    const head = await c.head(`/v2/${repo}/manifests/${ref}`, { Accept: ALL_ACCEPT });
    expectStatus(head, 200);
    assert.equal(head.body.length, 0);
    assert.equal(head.headers.get('content-type'), mediaType);
    assert.equal(head.headers.get('content-length'), String(bytes.length));
    assert.equal(head.headers.get('docker-content-digest'), digest);
    return res;
  }

  async function expectNoManifest(repo: string, ref: string): Promise<void> {
    expectError(await c.get(`/v2/${repo}/manifests/${ref}`, { Accept: ALL_ACCEPT }), 404, 'MANIFEST_UNKNOWN');
    expectStatus(await c.head(`/v2/${repo}/manifests/${ref}`, { Accept: ALL_ACCEPT }), 404);
  }

  describe('push and pull by media type', () => {
    it('OCI image manifest by tag: 201, Location, Docker-Content-Digest; pull by tag and digest', async () => {
      const repo = repoName('man');
      const img = await pushImage(c, repo, { tag: 'v1' });
      expectStatus(img.res, 201);
      assert.equal(img.res.headers.get('docker-content-digest'), img.digest);
      const loc = requireHeader(img.res, 'location');
      const viaLoc = await c.get(loc, { Accept: ALL_ACCEPT });
      expectStatus(viaLoc, 200);
      assert.deepEqual(viaLoc.body, img.bytes);
      await expectManifest(repo, 'v1', img.bytes, MT.ociManifest);
      await expectManifest(repo, img.digest, img.bytes, MT.ociManifest);
    });

    it('OCI image index (with child manifests present) → 201 and pulls back', async () => {
      const repo = repoName('man');
      const a = await pushImage(c, repo);
      const b = await pushImage(c, repo);
      const idx = await pushIndex(c, repo, [platformDescriptor(a, 'amd64'), platformDescriptor(b, 'arm64')], { tag: 'multi' });
      assert.equal(idx.res.headers.get('docker-content-digest'), idx.digest);
      await expectManifest(repo, 'multi', idx.bytes, MT.ociIndex);
      await expectManifest(repo, idx.digest, idx.bytes, MT.ociIndex);
    });

    it('an index of indexes → 201', async () => {
      const repo = repoName('man');
      const a = await pushImage(c, repo);
      const inner = await pushIndex(c, repo, [platformDescriptor(a, 'amd64')]);
      const outer = await pushIndex(c, repo, [inner.descriptor], { tag: 'nested' });
      await expectManifest(repo, 'nested', outer.bytes, MT.ociIndex);
    });

    it('an empty OCI index → 201', async () => {
      const repo = repoName('man');
      const idx = await pushIndex(c, repo, [], { tag: 'empty' });
      await expectManifest(repo, 'empty', idx.bytes, MT.ociIndex);
    });

    it('Docker schema2 manifest → 201 and pulls back with its media type', async () => {
      const repo = repoName('man');
      const img = await pushImage(c, repo, { tag: 'docker', docker: true });
      assert.equal(img.res.headers.get('docker-content-digest'), img.digest);
      await expectManifest(repo, 'docker', img.bytes, MT.dockerManifest);
      const only = await c.get(`/v2/${repo}/manifests/docker`, { Accept: MT.dockerManifest });
      expectStatus(only, 200);
      assert.equal(only.headers.get('content-type'), MT.dockerManifest);
    });

    it('Docker manifest list → 201 and pulls back with its media type', async () => {
      const repo = repoName('man');
      const a = await pushImage(c, repo, { docker: true });
      const b = await pushImage(c, repo, { docker: true });
      const list = await pushIndex(c, repo, [platformDescriptor(a, 'amd64'), platformDescriptor(b, 'arm64')], { tag: 'list', docker: true });
      await expectManifest(repo, 'list', list.bytes, MT.dockerList);
      const only = await c.get(`/v2/${repo}/manifests/list`, { Accept: MT.dockerList });
      expectStatus(only, 200);
      assert.equal(only.headers.get('content-type'), MT.dockerList);
      assert.deepEqual(only.body, list.bytes);
    });

    it('artifact: artifactType with the empty config and an arbitrary layer media type → 201', async () => {
      const repo = repoName('art');
      const cfg = await pushBlob(c, repo, EMPTY_JSON);
      const layer = await pushRandomBlob(c, repo, 64);
      const doc = imageDoc(
        { ...cfg, mediaType: MT.ociEmpty },
        [{ ...layer, mediaType: 'application/vnd.example.sbom.v1+json' }],
        { artifactType: 'application/vnd.example.sbom.v1' },
      );
      const m = await pushManifest(c, repo, manifestBytes(doc), MT.ociManifest, 'sbom');
      await expectManifest(repo, 'sbom', m.bytes, MT.ociManifest);
    });

    it('artifact without layers (empty config, empty layers) → 201', async () => {
      const repo = repoName('art');
      const cfg = await pushBlob(c, repo, EMPTY_JSON);
      const doc = imageDoc({ ...cfg, mediaType: MT.ociEmpty }, [], { artifactType: 'application/vnd.example.thing' });
      const m = await pushManifest(c, repo, manifestBytes(doc), MT.ociManifest, 'thing');
      await expectManifest(repo, 'thing', m.bytes, MT.ociManifest);
    });

    it('an OCI index with artifactType → 201', async () => {
      const repo = repoName('art');
      const a = await pushImage(c, repo);
      const idx = await pushIndex(c, repo, [a.descriptor], { artifactType: 'application/vnd.example.bundle', tag: 'bundle' });
      await expectManifest(repo, 'bundle', idx.bytes, MT.ociIndex);
    });

    it('descriptors with the data field and custom fields are accepted and stored verbatim', async () => {
      const repo = repoName('man');
      const cfg = await pushBlob(c, repo, Buffer.from('{"architecture":"amd64","os":"linux"}'));
      const layer = await pushRandomBlob(c, repo, 16);
      const doc = {
        schemaVersion: 2,
        mediaType: MT.ociManifest,
        config: { mediaType: MT.ociConfig, digest: cfg.digest, size: cfg.size, data: cfg.data.toString('base64') },
        layers: [{ mediaType: MT.ociLayer, digest: layer.digest, size: layer.size, data: layer.data.toString('base64'), 'x-custom': { a: [1, 2] } }],
        annotations: { 'org.example.k': 'v' },
        'com.example.extra': { nested: true },
      };
      const m = await pushManifest(c, repo, manifestBytes(doc), MT.ociManifest, 'data-field');
      await expectManifest(repo, 'data-field', m.bytes, MT.ociManifest);
    });

    it('the digest is over the exact bytes pushed (odd whitespace and key order kept)', async () => {
      const repo = repoName('bytes');
      const img = await pushImage(c, repo);
      const doc = JSON.parse(img.bytes.toString('utf8')) as Record<string, unknown>;
      const odd = Buffer.from(`  {"layers":${JSON.stringify(doc.layers, null, 3)},\n\t"schemaVersion" :  2,"config":${JSON.stringify(doc.config)},"mediaType":"${MT.ociManifest}"}\n\n`);
      const res = await putManifest(c, repo, 'odd', odd, MT.ociManifest);
      expectStatus(res, 201);
      assert.equal(res.headers.get('docker-content-digest'), digestOf(odd));
      await expectManifest(repo, 'odd', odd, MT.ociManifest);
    });

    it('a manifest with non-ASCII (UTF-8) annotations keeps its bytes and digest', async () => {
      const repo = repoName('bytes');
      const img = await pushImage(c, repo, { annotations: { 'org.example.note': 'héllo 世界 🚢' } });
      await expectManifest(repo, img.digest, img.bytes, MT.ociManifest);
    });

    it('OCI manifest without a mediaType field, identified by Content-Type → 201', async () => {
      const repo = repoName('man');
      const cfg = await pushRandomBlob(c, repo, 20);
      const layer = await pushRandomBlob(c, repo, 20);
      const doc = {
        schemaVersion: 2,
        config: { mediaType: MT.ociConfig, digest: cfg.digest, size: cfg.size },
        layers: [{ mediaType: MT.ociLayer, digest: layer.digest, size: layer.size }],
      };
      const m = await pushManifest(c, repo, manifestBytes(doc), MT.ociManifest, 'nomt');
      await expectManifest(repo, 'nomt', m.bytes, MT.ociManifest);
    });

    it('Content-Type parameters are ignored on PUT, and not sent on GET', async () => {
      const repo = repoName('man');
      const img = await pushImage(c, repo);
      const res = await putManifest(c, repo, 'params', img.bytes, `${MT.ociManifest}; charset=utf-8`);
      expectStatus(res, 201);
      const got = await c.get(`/v2/${repo}/manifests/params`, { Accept: ALL_ACCEPT });
      expectStatus(got, 200);
      assert.equal(got.headers.get('content-type'), MT.ociManifest);
    });

    it('a large (~3.9 MB) manifest is accepted', async () => {
      const repo = repoName('big');
      const annotations: Record<string, string> = {};
      for (let i = 0; i < 390; i += 1) annotations[`large-annotation-${i}`] = 'A'.repeat(10000);
      const img = await pushImage(c, repo, { tag: 'large', annotations });
      assert.ok(img.bytes.length > 3_900_000);
      await expectManifest(repo, 'large', img.bytes, MT.ociManifest);
    });

    it('re-pushing the same manifest under the same tag → 201 (idempotent)', async () => {
      const repo = repoName('man');
      const img = await pushImage(c, repo, { tag: 'same' });
      const again = await putManifest(c, repo, 'same', img.bytes, MT.ociManifest);
      expectStatus(again, 201);
      assert.equal(again.headers.get('docker-content-digest'), img.digest);
    });

    it('pushing a tag again moves it; the old manifest stays reachable by digest', async () => {
      const repo = repoName('move');
      const one = await pushImage(c, repo, { tag: 'latest' });
      const two = await pushImage(c, repo, { tag: 'latest' });
      await expectManifest(repo, 'latest', two.bytes, MT.ociManifest);
      await expectManifest(repo, one.digest, one.bytes, MT.ociManifest);
    });

    it('the same manifest can live in two repositories', async () => {
      const a = repoName('two');
      const b = repoName('two');
      const img = await pushImage(c, a, { tag: 't' });
      await pushBlob(c, b, img.config.data);
      for (const l of img.layers) await pushBlob(c, b, l.data);
      expectStatus(await putManifest(c, b, 't', img.bytes, MT.ociManifest), 201);
      await expectManifest(b, 't', img.bytes, MT.ociManifest);
    });

    it('a blob whose bytes happen to be a manifest is not a manifest', async () => {
      const repo = repoName('scope');
      const img = await pushImage(c, repo);
      const other = repoName('scope');
      for (const b of [img.config, ...img.layers]) await pushBlob(c, other, b.data);
      await pushBlob(c, other, img.bytes); // as a blob, not via the manifests endpoint
      await expectNoManifest(other, img.digest);
    });

    it('a manifest pushed to one repository is not served from another', async () => {
      const a = repoName('scope');
      const b = repoName('scope');
      const img = await pushImage(c, a, { tag: 't' });
      await pushImage(c, b, { tag: 'other' });
      await expectNoManifest(b, img.digest);
      await expectNoManifest(b, 't');
    });
  });

  describe('push by digest', () => {
    it('PUT /manifests/<sha256 digest> → 201 with that Docker-Content-Digest', async () => {
      const repo = repoName('bydig');
      const img = await pushImage(c, repo);
      assert.equal(img.res.headers.get('docker-content-digest'), img.digest);
      await expectManifest(repo, img.digest, img.bytes, MT.ociManifest);
    });

    it('PUT /manifests/<sha512 digest> → 201; Docker-Content-Digest equals the client digest; pull by it', async () => {
      const repo = repoName('bydig');
      const img = await pushImage(c, repo, { alg: 'sha512' });
      assert.match(img.digest, /^sha512:/);
      assert.equal(img.res.headers.get('docker-content-digest'), img.digest);
      await expectManifest(repo, img.digest, img.bytes, MT.ociManifest, img.digest);
    });

    it('PUT by a digest that does not match the body → 400 DIGEST_INVALID, nothing stored', async () => {
      const repo = repoName('bydig');
      const img = await pushImage(c, repo);
      const other = Buffer.concat([img.bytes, Buffer.from(' ')]);
      const res = await putManifest(c, repo, img.digest, other, MT.ociManifest);
      expectError(res, 400, 'DIGEST_INVALID');
      await expectManifest(repo, img.digest, img.bytes, MT.ociManifest);
      await expectNoManifest(repo, digestOf(other));
      const wrong = digestOf(randomData(10));
      expectError(await putManifest(c, repo, wrong, img.bytes, MT.ociManifest), 400, 'DIGEST_INVALID');
      await expectNoManifest(repo, wrong);
    });

    it('PUT by a malformed digest (sha256:baddigeststring) → 400', async () => {
      const repo = repoName('bydig');
      const img = await pushImage(c, repo);
      const res = await putManifest(c, repo, 'sha256:baddigeststring', img.bytes, MT.ociManifest);
      expectError(res, 400, ['DIGEST_INVALID', 'TAG_INVALID', 'MANIFEST_INVALID']);
      const get = await c.get(`/v2/${repo}/manifests/sha256:baddigeststring`);
      expectErrorStatus(get, [400, 404]);
    });

    it('?tag=a&tag=b → 201 with OCI-Tag listing each tag; the tags resolve', async () => {
      const repo = repoName('tagparam');
      const img = await pushImage(c, repo);
      const res = await c.put(`/v2/${repo}/manifests/${img.digest}?tag=1.2.3&tag=1.2&tag=latest`, {
        headers: { 'Content-Type': MT.ociManifest },
        body: img.bytes,
      });
      expectStatus(res, 201);
      for (const t of ['1.2.3', '1.2', 'latest']) await expectManifest(repo, t, img.bytes, MT.ociManifest);
      assert.deepEqual(splitHeaderList(res.headers.get('oci-tag')).sort(), ['1.2', '1.2.3', 'latest'], 'one OCI-Tag entry per accepted tag');
    });

    it('?tag= accepts at least 10 tags', async () => {
      const repo = repoName('tagparam');
      const img = await pushImage(c, repo);
      const tags = Array.from({ length: 12 }, (_, i) => `t${i}`);
      const res = await c.put(`/v2/${repo}/manifests/${img.digest}?${tags.map((t) => `tag=${t}`).join('&')}`, {
        headers: { 'Content-Type': MT.ociManifest },
        body: img.bytes,
      });
      expectStatus(res, 201);
      for (const t of tags) expectStatus(await c.head(`/v2/${repo}/manifests/${t}`, { Accept: ALL_ACCEPT }), 200);
      assert.deepEqual(splitHeaderList(res.headers.get('oci-tag')).sort(), [...tags].sort(), 'one OCI-Tag entry per accepted tag');
    });

    it('?tag= with an invalid tag → 400 TAG_INVALID', async () => {
      const repo = repoName('tagparam');
      const img = await pushImage(c, repo);
      const res = await c.put(`/v2/${repo}/manifests/${img.digest}?tag=ok&tag=-bad`, {
        headers: { 'Content-Type': MT.ociManifest },
        body: img.bytes,
      });
      expectError(res, 400, 'TAG_INVALID');
    });

    it('?tag= on a push by sha512 digest → tags resolve to the sha512 manifest', async () => {
      const repo = repoName('tagparam');
      const cfg = await pushRandomBlob(c, repo, 30, 'sha512');
      const layer = await pushRandomBlob(c, repo, 30, 'sha512');
      const bytes = manifestBytes(imageDoc({ ...cfg, mediaType: MT.ociConfig }, [{ ...layer, mediaType: MT.ociLayer }]));
      const digest = digestOf(bytes, 'sha512');
      const res = await c.put(`/v2/${repo}/manifests/${digest}?tag=s512`, { headers: { 'Content-Type': MT.ociManifest }, body: bytes });
      expectStatus(res, 201);
      assert.equal(res.headers.get('docker-content-digest'), digest);
      await expectManifest(repo, 's512', bytes, MT.ociManifest, digest);
      assert.deepEqual(splitHeaderList(res.headers.get('oci-tag')), ['s512'], 'one OCI-Tag entry per accepted tag');
    });
  });

  describe('content negotiation', () => {
    let repo: string;
    let img: { bytes: Buffer; digest: string };
    let idx: { bytes: Buffer; digest: string };
    before(async () => {
      repo = repoName('accept');
      img = await pushImage(c, repo, { tag: 'img' });
      idx = await pushIndex(c, repo, [platformDescriptor(await pushImage(c, repo), 'amd64')], { tag: 'idx' });
    });

    it('no Accept header (RFC 9110: any type acceptable) → 200 with the stored type', async () => {
      const res = await c.get(`/v2/${repo}/manifests/img`);
      expectStatus(res, 200);
      assert.equal(res.headers.get('content-type'), MT.ociManifest);
      assert.deepEqual(res.body, img.bytes);
    });

    it('Accept: */* → 200', async () => {
      const res = await c.get(`/v2/${repo}/manifests/idx`, { Accept: '*/*' });
      expectStatus(res, 200);
      assert.equal(res.headers.get('content-type'), MT.ociIndex);
    });

    it('Accept with q-values and parameters, the stored type among them → 200', async () => {
      const res = await c.get(`/v2/${repo}/manifests/img`, {
        Accept: `${MT.dockerManifest};q=0.9, ${MT.ociManifest};q=0.5, ${MT.ociIndex}`,
      });
      expectStatus(res, 200);
      assert.equal(res.headers.get('content-type'), MT.ociManifest);
      assert.deepEqual(res.body, img.bytes);
    });

    it('an Accept that excludes the stored type never gets a mislabelled or converted body', async () => {
      for (const [ref, stored, accept] of [
        ['img', img, MT.dockerManifest],
        ['idx', idx, MT.ociManifest],
      ] as const) {
        const res = await c.get(`/v2/${repo}/manifests/${ref}`, { Accept: accept });
        expectStatus(res, [200, 404, 406]);
        if (res.status === 200) {
          const doc = json<{ mediaType?: string }>(res);
          assert.equal(res.headers.get('content-type'), doc.mediaType, 'Content-Type must match the body mediaType');
          assert.equal(res.headers.get('docker-content-digest'), digestOf(res.body), 'Docker-Content-Digest must match the body');
          assert.deepEqual(res.body, stored.bytes);
        }
      }
    });
  });

  describe('validation', () => {
    it('invalid JSON → 400 MANIFEST_INVALID', async () => {
      const repo = repoName('inv');
      for (const body of ['{', 'not json', '{"schemaVersion":2,', '\u0000\u0001', '']) {
        expectError(await putManifest(c, repo, 'bad', body, MT.ociManifest), 400, 'MANIFEST_INVALID');
      }
    });

    it('JSON that is not a manifest → 400 MANIFEST_INVALID', async () => {
      const repo = repoName('inv');
      const cfg = await pushRandomBlob(c, repo, 10);
      const good = { mediaType: MT.ociConfig, digest: cfg.digest, size: cfg.size };
      const bodies: unknown[] = [
        null,
        [],
        'str',
        42,
        {},
        { schemaVersion: 1, mediaType: MT.ociManifest, config: good, layers: [] },
        { schemaVersion: '2', mediaType: MT.ociManifest, config: good, layers: [] },
        { schemaVersion: 2, mediaType: MT.ociManifest },
        { schemaVersion: 2, mediaType: MT.ociManifest, config: 'x', layers: [] },
        { schemaVersion: 2, mediaType: MT.ociManifest, config: good, layers: {} },
        { schemaVersion: 2, mediaType: MT.ociManifest, config: good, layers: [null] },
        { schemaVersion: 2, mediaType: MT.ociManifest, config: { ...good, digest: 'sha256:nothex' }, layers: [] },
        { schemaVersion: 2, mediaType: MT.ociManifest, config: { ...good, size: -1 }, layers: [] },
        { schemaVersion: 2, mediaType: MT.ociManifest, config: { ...good, size: 'ten' }, layers: [] },
        { schemaVersion: 2, mediaType: MT.ociManifest, config: { ...good, mediaType: 7 }, layers: [] },
        { schemaVersion: 2, mediaType: MT.ociIndex, manifests: 'none' },
        { schemaVersion: 2, mediaType: MT.ociIndex, manifests: [{ mediaType: MT.ociManifest, digest: 'nope', size: 1 }] },
      ];
      for (const b of bodies) {
        const doc = b as { mediaType?: string } | null;
        const ct = doc !== null && typeof doc === 'object' && typeof doc.mediaType === 'string' ? doc.mediaType : MT.ociManifest;
        const res = await putManifest(c, repo, 'bad', JSON.stringify(b), ct);
        expectError(res, 400, ['MANIFEST_INVALID', 'DIGEST_INVALID']);
      }
      await expectNoManifest(repo, 'bad');
    });

    it('an unknown manifest media type → 400 MANIFEST_INVALID', async () => {
      const repo = repoName('inv');
      const img = await pushImage(c, repo);
      const doc = JSON.parse(img.bytes.toString('utf8')) as Record<string, unknown>;
      doc.mediaType = 'application/vnd.example.unknown.manifest+json';
      const res = await putManifest(c, repo, 'unknown', manifestBytes(doc), 'application/vnd.example.unknown.manifest+json');
      expectError(res, 400, 'MANIFEST_INVALID');
      await expectNoManifest(repo, 'unknown');
    });

    it('a Content-Type that contradicts the body mediaType → 400 MANIFEST_INVALID', async () => {
      const repo = repoName('inv');
      const img = await pushImage(c, repo);
      expectError(await putManifest(c, repo, 'mismatch', img.bytes, MT.ociIndex), 400, 'MANIFEST_INVALID');
      expectError(await putManifest(c, repo, 'mismatch', img.bytes, MT.dockerManifest), 400, 'MANIFEST_INVALID');
      await expectNoManifest(repo, 'mismatch');
    });

    it('a missing config blob → 400 MANIFEST_BLOB_UNKNOWN', async () => {
      const repo = repoName('missing');
      const layer = await pushRandomBlob(c, repo);
      const cfgDigest = digestOf(randomData(40));
      const doc = imageDoc({ digest: cfgDigest, size: 40, mediaType: MT.ociConfig }, [{ ...layer, mediaType: MT.ociLayer }]);
      expectError(await putManifest(c, repo, 'x', manifestBytes(doc), MT.ociManifest), 400, 'MANIFEST_BLOB_UNKNOWN');
      await expectNoManifest(repo, 'x');
    });

    it('a missing layer blob → 400 MANIFEST_BLOB_UNKNOWN (OCI and Docker)', async () => {
      const repo = repoName('missing');
      const cfg = await pushRandomBlob(c, repo);
      const missing = { digest: digestOf(randomData(40)), size: 40 };
      const oci = imageDoc({ ...cfg, mediaType: MT.ociConfig }, [{ ...missing, mediaType: MT.ociLayer }]);
      expectError(await putManifest(c, repo, 'x', manifestBytes(oci), MT.ociManifest), 400, 'MANIFEST_BLOB_UNKNOWN');
      const docker = imageDoc({ ...cfg, mediaType: MT.dockerConfig }, [{ ...missing, mediaType: MT.dockerLayer }], {}, true);
      expectError(await putManifest(c, repo, 'x', manifestBytes(docker), MT.dockerManifest), 400, 'MANIFEST_BLOB_UNKNOWN');
      await expectNoManifest(repo, 'x');
    });

    it('a blob that exists only in another repository: rejected with MANIFEST_BLOB_UNKNOWN, or (if accepted) pullable here', async () => {
      const a = repoName('xrepo');
      const b = repoName('xrepo');
      const img = await pushImage(c, a);
      await pushRandomBlob(c, b);
      const res = await putManifest(c, b, 'borrowed', img.bytes, MT.ociManifest);
      if (res.status === 201) {
        for (const blob of [img.config, ...img.layers]) expectStatus(await c.head(`/v2/${b}/blobs/${blob.digest}`), 200);
      } else {
        expectError(res, 400, 'MANIFEST_BLOB_UNKNOWN');
      }
    });

    it('an index whose child manifest is missing → 400 MANIFEST_BLOB_UNKNOWN (OCI index and Docker list)', async () => {
      const repo = repoName('missing');
      const present = await pushImage(c, repo);
      const absent: Descriptor = { mediaType: MT.ociManifest, digest: digestOf(randomData(50)), size: 50, platform: { architecture: 'arm64', os: 'linux' } };
      const oci = manifestBytes({ schemaVersion: 2, mediaType: MT.ociIndex, manifests: [platformDescriptor(present, 'amd64'), absent] });
      expectError(await putManifest(c, repo, 'idx', oci, MT.ociIndex), 400, 'MANIFEST_BLOB_UNKNOWN');
      const dockerAbsent = { ...absent, mediaType: MT.dockerManifest };
      const list = manifestBytes({ schemaVersion: 2, mediaType: MT.dockerList, manifests: [dockerAbsent] });
      expectError(await putManifest(c, repo, 'idx', list, MT.dockerList), 400, 'MANIFEST_BLOB_UNKNOWN');
      await expectNoManifest(repo, 'idx');
    });

    it('non-distributable layers that carry urls need not be pushed (OCI and Docker foreign layers)', async () => {
      const repo = repoName('nondist');
      const cfg = await pushRandomBlob(c, repo);
      const pushed = await pushRandomBlob(c, repo);
      const foreign = { digest: digestOf(randomData(256)), size: 256 };
      const oci = {
        schemaVersion: 2,
        mediaType: MT.ociManifest,
        config: { mediaType: MT.ociConfig, digest: cfg.digest, size: cfg.size },
        layers: [
          { mediaType: MT.ociLayerNondist, digest: foreign.digest, size: foreign.size, urls: ['https://example.com/layer.tar.gz'] },
          { mediaType: MT.ociLayer, digest: pushed.digest, size: pushed.size },
        ],
      };
      const m1 = await pushManifest(c, repo, manifestBytes(oci), MT.ociManifest, 'oci-nd');
      await expectManifest(repo, 'oci-nd', m1.bytes, MT.ociManifest);
      const docker = {
        schemaVersion: 2,
        mediaType: MT.dockerManifest,
        config: { mediaType: MT.dockerConfig, digest: cfg.digest, size: cfg.size },
        layers: [
          { mediaType: MT.dockerForeignLayer, digest: foreign.digest, size: foreign.size, urls: ['https://example.com/layer.tar.gz'] },
          { mediaType: MT.dockerLayer, digest: pushed.digest, size: pushed.size },
        ],
      };
      const m2 = await pushManifest(c, repo, manifestBytes(docker), MT.dockerManifest, 'docker-foreign');
      await expectManifest(repo, 'docker-foreign', m2.bytes, MT.dockerManifest);
    });

    it('a subject that does not exist is accepted (push referrers before their subject)', async () => {
      const repo = repoName('subj');
      const subject: Descriptor = { mediaType: MT.ociManifest, digest: digestOf(randomData(100)), size: 100 };
      const art = await pushImage(c, repo, { subject, artifactType: 'application/vnd.example.sig' });
      expectStatus(art.res, 201);
      assert.equal(art.res.headers.get('oci-subject'), subject.digest);
    });

    it('a manifest with an existing subject → 201 with OCI-Subject', async () => {
      const repo = repoName('subj');
      const base = await pushImage(c, repo, { tag: 'base' });
      const art = await pushImage(c, repo, { subject: base.descriptor, artifactType: 'application/vnd.example.sig', tag: 'sig' });
      assert.equal(art.res.headers.get('oci-subject'), base.digest);
    });

    it('a manifest without subject has no OCI-Subject header', async () => {
      const repo = repoName('subj');
      const img = await pushImage(c, repo);
      assert.equal(img.res.headers.get('oci-subject'), null);
    });
  });

  describe('size limit (default 4 MiB)', () => {
    async function paddedManifest(repo: string, size: number): Promise<Buffer> {
      const cfg = await pushRandomBlob(c, repo, 10);
      const base = imageDoc({ ...cfg, mediaType: MT.ociConfig }, [], { annotations: { pad: '' } });
      const empty = manifestBytes(base).length;
      const doc = imageDoc({ ...cfg, mediaType: MT.ociConfig }, [], { annotations: { pad: 'x'.repeat(size - empty) } });
      const bytes = manifestBytes(doc);
      assert.equal(bytes.length, size);
      return bytes;
    }

    it('exactly 4 MiB is accepted; one byte more → 413', async () => {
      const repo = repoName('limit');
      const ok = await paddedManifest(repo, 4 * 1024 * 1024);
      expectStatus(await putManifest(c, repo, 'max', ok, MT.ociManifest), 201);
      const tooBig = await paddedManifest(repo, 4 * 1024 * 1024 + 1);
      const res = await putManifest(c, repo, 'over', tooBig, MT.ociManifest);
      expectErrorStatus(res, 413);
      await expectNoManifest(repo, 'over');
    });

    it('an oversized manifest sent chunked (no Content-Length) → 413', async () => {
      const repo = repoName('limit');
      const big = await paddedManifest(repo, 4 * 1024 * 1024 + 10);
      const pieces: Buffer[] = [];
      for (let i = 0; i < big.length; i += 256 * 1024) pieces.push(big.subarray(i, i + 256 * 1024));
      const res = await nodeRequest(srv.url, 'PUT', `/v2/${repo}/manifests/chunked`, {
        headers: { 'Content-Type': MT.ociManifest, 'Transfer-Encoding': 'chunked' },
        body: pieces,
      });
      expectErrorStatus(res, 413);
      await expectNoManifest(repo, 'chunked');
    });
  });

  describe('references', () => {
    it('an unknown tag → 404 MANIFEST_UNKNOWN; an unknown digest → 404 MANIFEST_UNKNOWN', async () => {
      const repo = repoName('ref');
      await pushImage(c, repo, { tag: 'exists' });
      await expectNoManifest(repo, 'missing');
      await expectNoManifest(repo, digestOf(randomData(30)));
      await expectNoManifest(repo, digestOf(randomData(30), 'sha512'));
    });

    it('a manifest in a nonexistent repository → 404', async () => {
      const res = await c.get(`/v2/${repoName('none')}/manifests/latest`, { Accept: ALL_ACCEPT });
      expectError(res, 404, ['MANIFEST_UNKNOWN', 'NAME_UNKNOWN']);
    });

    it('tag grammar: 128 characters accepted, 129 → 400 TAG_INVALID', async () => {
      const repo = repoName('ref');
      const img = await pushImage(c, repo);
      const t128 = 'a' + 'B'.repeat(100) + '_.-'.repeat(9);
      assert.equal(t128.length, 128);
      expectStatus(await putManifest(c, repo, t128, img.bytes, MT.ociManifest), 201);
      await expectManifest(repo, t128, img.bytes, MT.ociManifest);
      expectError(await putManifest(c, repo, t128 + 'x', img.bytes, MT.ociManifest), 400, 'TAG_INVALID');
    });

    it('invalid tags on PUT → 400 TAG_INVALID', async () => {
      const repo = repoName('ref');
      const img = await pushImage(c, repo);
      for (const t of ['-lead', '.lead', 'sp%20ace', 'semi;colon', 'ünï', 'a+b']) {
        expectError(await putManifest(c, repo, t, img.bytes, MT.ociManifest), 400, 'TAG_INVALID');
      }
    });

    it('tags are case-sensitive', async () => {
      const repo = repoName('ref');
      const lower = await pushImage(c, repo, { tag: 'abc' });
      const upper = await pushImage(c, repo, { tag: 'ABC' });
      await expectManifest(repo, 'abc', lower.bytes, MT.ociManifest);
      await expectManifest(repo, 'ABC', upper.bytes, MT.ociManifest);
    });

    it('an invalid repository name on PUT → 400 NAME_INVALID', async () => {
      const img = await pushImage(c, repoName('ref'));
      for (const name of ['Upper', 'a..b', '-x', 'x_-y']) {
        expectError(await putManifest(c, name, 'latest', img.bytes, MT.ociManifest), 400, 'NAME_INVALID');
      }
    });
  });

  describe('DELETE', () => {
    it('delete by tag → 202, removes only that tag', async () => {
      const repo = repoName('del');
      const img = await pushImage(c, repo, { tag: 'one' });
      expectStatus(await putManifest(c, repo, 'two', img.bytes, MT.ociManifest), 201);
      expectStatus(await c.delete(`/v2/${repo}/manifests/one`), 202);
      await expectNoManifest(repo, 'one');
      await expectManifest(repo, 'two', img.bytes, MT.ociManifest);
      await expectManifest(repo, img.digest, img.bytes, MT.ociManifest);
    });

    it('delete by digest → 202, removes the manifest and every tag pointing at it', async () => {
      const repo = repoName('del');
      const keep = await pushImage(c, repo, { tag: 'keep' });
      const img = await pushImage(c, repo, { tag: 'one' });
      expectStatus(await putManifest(c, repo, 'two', img.bytes, MT.ociManifest), 201);
      expectStatus(await c.delete(`/v2/${repo}/manifests/${img.digest}`), 202);
      await expectNoManifest(repo, img.digest);
      await expectNoManifest(repo, 'one');
      await expectNoManifest(repo, 'two');
      const tags = await c.get(`/v2/${repo}/tags/list`);
      expectStatus(tags, 200);
      assert.deepEqual(json<{ tags: string[] }>(tags).tags, ['keep']);
      await expectManifest(repo, 'keep', keep.bytes, MT.ociManifest);
    });

    it('delete by sha512 digest → 202', async () => {
      const repo = repoName('del');
      const img = await pushImage(c, repo, { alg: 'sha512' });
      expectStatus(await c.delete(`/v2/${repo}/manifests/${img.digest}`), 202);
      await expectNoManifest(repo, img.digest);
    });

    it('delete of an unknown tag or digest → 404 MANIFEST_UNKNOWN', async () => {
      const repo = repoName('del');
      await pushImage(c, repo, { tag: 'x' });
      expectError(await c.delete(`/v2/${repo}/manifests/nope`), 404, 'MANIFEST_UNKNOWN');
      expectError(await c.delete(`/v2/${repo}/manifests/${digestOf(randomData(9))}`), 404, 'MANIFEST_UNKNOWN');
    });

    it('delete in a nonexistent repository → 404', async () => {
      expectError(await c.delete(`/v2/${repoName('none')}/manifests/${digestOf('x')}`), 404, ['MANIFEST_UNKNOWN', 'NAME_UNKNOWN']);
    });

    it('a deleted manifest can be pushed again', async () => {
      const repo = repoName('del');
      const img = await pushImage(c, repo, { tag: 'again' });
      expectStatus(await c.delete(`/v2/${repo}/manifests/${img.digest}`), 202);
      expectStatus(await putManifest(c, repo, 'again', img.bytes, MT.ociManifest), 201);
      await expectManifest(repo, 'again', img.bytes, MT.ociManifest);
    });

    it('deleting in one repository leaves the same manifest in another repository', async () => {
      const a = repoName('del');
      const b = repoName('del');
      const img = await pushImage(c, a, { tag: 't' });
      for (const blob of [img.config, ...img.layers]) await pushBlob(c, b, blob.data);
      expectStatus(await putManifest(c, b, 't', img.bytes, MT.ociManifest), 201);
      expectStatus(await c.delete(`/v2/${a}/manifests/${img.digest}`), 202);
      await expectManifest(b, 't', img.bytes, MT.ociManifest);
    });
  });
});
