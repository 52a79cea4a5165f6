// end-12a/12b: GET /v2/<name>/referrers/<digest>[?artifactType=].
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestServer, type TestServer } from '../support/server.js';
import { Client, expectStatus, json, type Res } from './support/http.js';
import {
  EMPTY_JSON,
  MT,
  digestOf,
  expectError,
  imageDoc,
  manifestBytes,
  pushBlob,
  pushImage,
  pushIndex,
  pushManifest,
  randomData,
  repoName,
  splitHeaderList,
  type Descriptor,
  type Index,
  type PushedManifest,
} from './support/registry.js';

const SBOM = 'application/vnd.example.sbom.v1';
const SIG = 'application/vnd.example.signature.v1';

describe('referrers', () => {
  let srv: TestServer;
  let c: Client;
  before(async () => {
    srv = await startTestServer();
    c = new Client(srv.url);
  });
  after(async () => {
    await srv.close();
  });

  async function referrers(repo: string, digest: string, query = ''): Promise<{ res: Res; index: Index }> {
    const res = await c.get(`/v2/${repo}/referrers/${digest}${query}`);
    expectStatus(res, 200);
    assert.equal(res.headers.get('content-type'), MT.ociIndex);
    const index = json<Index>(res);
    assert.equal(index.schemaVersion, 2);
    assert.equal(index.mediaType, MT.ociIndex);
    assert.ok(Array.isArray(index.manifests), 'manifests must be an array');
    return { res, index };
  }

  /** An artifact: empty config, one layer, artifactType, subject, annotations. */
  async function pushArtifact(repo: string, subject: Descriptor, artifactType: string, annotations: Record<string, string>): Promise<PushedManifest> {
    const cfg = await pushBlob(c, repo, EMPTY_JSON);
    const layer = await pushBlob(c, repo, randomData(40));
    const doc = imageDoc({ ...cfg, mediaType: MT.ociEmpty }, [{ ...layer, mediaType: artifactType }], { artifactType, subject, annotations });
    const m = await pushManifest(c, repo, manifestBytes(doc), MT.ociManifest);
    assert.equal(m.res.headers.get('oci-subject'), subject.digest);
    return m;
  }

  function find(index: Index, digest: string): Descriptor | undefined {
    return index.manifests.find((d) => d.digest === digest);
  }

  describe('a subject with several referrers', () => {
    let repo: string;
    let subject: PushedManifest;
    let sbom: PushedManifest;
    let sig: PushedManifest;
    let plain: PushedManifest; // image manifest without artifactType: artifactType comes from config.mediaType
    let idxNoType: PushedManifest;
    let idxTyped: PushedManifest;
    const plainConfigType = 'application/vnd.example.config.v1+json';

    before(async () => {
      repo = repoName('refs');
      subject = await pushImage(c, repo, { tag: 'subject' });
      sbom = await pushArtifact(repo, subject.descriptor, SBOM, { 'org.example.sbom.format': 'json', 'org.opencontainers.image.created': '2024-01-01T00:00:00Z' });
      sig = await pushArtifact(repo, subject.descriptor, SIG, { 'org.example.signature.fingerprint': 'abcd' });
      plain = await pushImage(c, repo, { subject: subject.descriptor, configMediaType: plainConfigType, annotations: { 'org.example.plain': 'yes' } });
      assert.equal(plain.res.headers.get('oci-subject'), subject.digest);
      const child = await pushImage(c, repo);
      idxNoType = await pushIndex(c, repo, [child.descriptor], { subject: subject.descriptor, annotations: { 'org.example.idx': '1' } });
      assert.equal(idxNoType.res.headers.get('oci-subject'), subject.digest);
      idxTyped = await pushIndex(c, repo, [child.descriptor], { subject: subject.descriptor, artifactType: 'application/vnd.example.bundle' });
    });

    it('lists each referrer once with mediaType, size, digest, artifactType and annotations', async () => {
      const { index } = await referrers(repo, subject.digest);
      assert.equal(index.manifests.length, 5, JSON.stringify(index.manifests));
      const s = find(index, sbom.digest);
      assert.deepEqual(s, {
        mediaType: MT.ociManifest,
        digest: sbom.digest,
        size: sbom.bytes.length,
        artifactType: SBOM,
        annotations: { 'org.example.sbom.format': 'json', 'org.opencontainers.image.created': '2024-01-01T00:00:00Z' },
      });
      const g = find(index, sig.digest);
      assert.equal(g?.artifactType, SIG);
      assert.deepEqual(g?.annotations, { 'org.example.signature.fingerprint': 'abcd' });
    });

    it('an image manifest without artifactType is listed with artifactType = its config mediaType', async () => {
      const { index } = await referrers(repo, subject.digest);
      const p = find(index, plain.digest);
      assert.ok(p, 'plain referrer missing');
      assert.equal(p.artifactType, plainConfigType);
      assert.equal(p.mediaType, MT.ociManifest);
      assert.equal(p.size, plain.bytes.length);
      assert.deepEqual(p.annotations, { 'org.example.plain': 'yes' });
    });

    it('an index without artifactType is listed without artifactType; with one, with it', async () => {
      const { index } = await referrers(repo, subject.digest);
      const a = find(index, idxNoType.digest);
      assert.ok(a, 'index referrer missing');
      assert.equal(a.mediaType, MT.ociIndex);
      assert.equal(a.size, idxNoType.bytes.length);
      assert.equal('artifactType' in a, false, 'artifactType must be omitted for an index without one');
      assert.deepEqual(a.annotations, { 'org.example.idx': '1' });
      const b = find(index, idxTyped.digest);
      assert.equal(b?.artifactType, 'application/vnd.example.bundle');
    });

    it('?artifactType= filters and sets OCI-Filters-Applied: artifactType', async () => {
      const { res, index } = await referrers(repo, subject.digest, `?artifactType=${encodeURIComponent(SBOM)}`);
      assert.ok(splitHeaderList(res.headers.get('oci-filters-applied')).includes('artifactType'));
      assert.deepEqual(
        index.manifests.map((d) => d.digest),
        [sbom.digest],
      );
    });

    it('a filter that matches nothing → empty list, still with OCI-Filters-Applied', async () => {
      const { res, index } = await referrers(repo, subject.digest, '?artifactType=application/vnd.example.none');
      assert.ok(splitHeaderList(res.headers.get('oci-filters-applied')).includes('artifactType'));
      assert.deepEqual(index.manifests, []);
    });

    it('without a filter there is no OCI-Filters-Applied header', async () => {
      const { res } = await referrers(repo, subject.digest);
      assert.equal(res.headers.get('oci-filters-applied'), null);
    });

    it('re-pushing a referrer does not duplicate it', async () => {
      expectStatus(await c.put(`/v2/${repo}/manifests/${sig.digest}`, { headers: { 'Content-Type': MT.ociManifest }, body: sig.bytes }), 201);
      expectStatus(await c.put(`/v2/${repo}/manifests/tagged-sig`, { headers: { 'Content-Type': MT.ociManifest }, body: sig.bytes }), 201);
      const { index } = await referrers(repo, subject.digest);
      assert.equal(index.manifests.filter((d) => d.digest === sig.digest).length, 1);
    });

    it('referrers in another repository are not listed', async () => {
      const other = repoName('refs');
      await pushArtifact(other, subject.descriptor, SBOM, {});
      const { index } = await referrers(repo, subject.digest);
      assert.equal(index.manifests.length, 5);
      const { index: otherIndex } = await referrers(other, subject.digest);
      assert.equal(otherIndex.manifests.length, 1);
    });
  });

  it('no referrers → 200 with an empty image index', async () => {
    const repo = repoName('refs');
    const img = await pushImage(c, repo);
    const { index } = await referrers(repo, img.digest);
    assert.deepEqual(index.manifests, []);
  });

  it('an unknown digest → 200 with an empty image index (never 404)', async () => {
    const repo = repoName('refs');
    await pushImage(c, repo);
    const { index } = await referrers(repo, digestOf(randomData(20)));
    assert.deepEqual(index.manifests, []);
  });

  it('a repository that does not exist → 200 with an empty image index (never 404)', async () => {
    const { index } = await referrers(repoName('none'), digestOf(randomData(20)));
    assert.deepEqual(index.manifests, []);
  });

  it('an invalid digest → 400', async () => {
    const repo = repoName('refs');
    await pushImage(c, repo);
    for (const bad of ['sha256:abc', 'latest', 'sha256:' + 'G'.repeat(64)]) {
      expectError(await c.get(`/v2/${repo}/referrers/${bad}`), 400, ['DIGEST_INVALID', 'MANIFEST_INVALID']);
    }
  });

  it('a referrer pushed before its subject is listed, and stays listed once the subject arrives', async () => {
    const repo = repoName('refs');
    const cfg = await pushBlob(c, repo, Buffer.from(`{"late":"${randomData(4).toString('hex')}"}`));
    const layer = await pushBlob(c, repo, randomData(30));
    const subjectBytes = manifestBytes(imageDoc({ ...cfg, mediaType: MT.ociConfig }, [{ ...layer, mediaType: MT.ociLayer }]));
    const subject: Descriptor = { mediaType: MT.ociManifest, digest: digestOf(subjectBytes), size: subjectBytes.length };
    const art = await pushArtifact(repo, subject, SIG, {});
    let { index } = await referrers(repo, subject.digest);
    assert.deepEqual(index.manifests.map((d) => d.digest), [art.digest]);
    await pushManifest(c, repo, subjectBytes, MT.ociManifest, 'late');
    ({ index } = await referrers(repo, subject.digest));
    assert.deepEqual(index.manifests.map((d) => d.digest), [art.digest]);
  });

  it('deleting a referrer removes it from the list', async () => {
    const repo = repoName('refs');
    const subject = await pushImage(c, repo);
    const a = await pushArtifact(repo, subject.descriptor, SBOM, {});
    const b = await pushArtifact(repo, subject.descriptor, SIG, {});
    expectStatus(await c.delete(`/v2/${repo}/manifests/${a.digest}`), 202);
    const { index } = await referrers(repo, subject.digest);
    assert.deepEqual(index.manifests.map((d) => d.digest), [b.digest]);
  });

  it('sha512 subjects: OCI-Subject and the referrers list use the sha512 digest', async () => {
    const repo = repoName('refs');
    const subject = await pushImage(c, repo, { alg: 'sha512' });
    assert.match(subject.digest, /^sha512:/);
    const art = await pushArtifact(repo, subject.descriptor, SBOM, {});
    const { index } = await referrers(repo, subject.digest);
    assert.deepEqual(index.manifests.map((d) => d.digest), [art.digest]);
  });

  it('an image manifest with the empty config and no artifactType: rejected, or listed with artifactType = application/vnd.oci.empty.v1+json', async () => {
    // image-spec requires artifactType with an empty config; if the registry accepts the manifest anyway, the
    // distribution spec says the referrers descriptor's artifactType "MUST be set to the config descriptor mediaType".
    const repo = repoName('refs');
    const subject = await pushImage(c, repo);
    const cfg = await pushBlob(c, repo, EMPTY_JSON);
    const layer = await pushBlob(c, repo, randomData(20));
    const bytes = manifestBytes(imageDoc({ ...cfg, mediaType: MT.ociEmpty }, [{ ...layer, mediaType: 'application/octet-stream' }], { subject: subject.descriptor }));
    const res = await c.put(`/v2/${repo}/manifests/${digestOf(bytes)}`, { headers: { 'Content-Type': MT.ociManifest }, body: bytes });
    if (res.status !== 201) {
      expectError(res, 400, 'MANIFEST_INVALID');
      return;
    }
    const { index } = await referrers(repo, subject.digest);
    const d = find(index, digestOf(bytes));
    assert.ok(d, 'referrer missing');
    assert.equal(d.artifactType, MT.ociEmpty);
  });

  it('a tag pointing to a referrer does not change the listing; deleting the subject leaves referrers queryable', async () => {
    const repo = repoName('refs');
    const subject = await pushImage(c, repo, { tag: 's' });
    const art = await pushArtifact(repo, subject.descriptor, SBOM, {});
    expectStatus(await c.put(`/v2/${repo}/manifests/sbom-tag`, { headers: { 'Content-Type': MT.ociManifest }, body: art.bytes }), 201);
    expectStatus(await c.delete(`/v2/${repo}/manifests/${subject.digest}`), 202);
    const { index } = await referrers(repo, subject.digest);
    assert.ok(index.manifests.length <= 1);
    for (const d of index.manifests) assert.equal(d.digest, art.digest);
  });
});
