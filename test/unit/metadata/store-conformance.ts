// The one test suite every MetadataStore must pass; each store's test file calls it with a factory.
import assert from 'node:assert/strict';
import { describe, test, beforeEach, afterEach } from 'node:test';
import type { ManifestWrite, MetadataStore } from '../../../src/metadata/store.js';

export interface StoreFixture {
  store: MetadataStore;
  cleanup(): Promise<void>;
}

const d = (n: number) => `sha256:${n.toString(16).padStart(64, '0')}`;

function manifest(repository: string, digest: string, extra: Partial<ManifestWrite> = {}): ManifestWrite {
  return {
    repository,
    digest,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    body: Buffer.from(`{"m":"${digest}"}`),
    artifactType: null,
    subject: null,
    annotations: null,
    blobs: [],
    manifests: [],
    tags: [],
    ...extra,
  };
}

export function metadataStoreConformance(name: string, create: () => Promise<StoreFixture>): void {
  describe(`MetadataStore conformance: ${name}`, () => {
    let fx: StoreFixture;
    let s: MetadataStore;
    beforeEach(async () => {
      fx = await create();
      s = fx.store;
    });
    afterEach(async () => {
      await fx.cleanup();
    });

    test('a committed blob is linked to its repository only', async () => {
      await s.createUpload({ id: 'up1', repository: 'a/b', algorithm: 'sha256' });
      await s.commitBlob('a/b', { digest: d(1), size: 10 }, 'up1');
      assert.equal((await s.getBlob(d(1)))?.size, 10);
      assert.equal((await s.getRepositoryBlob('a/b', d(1)))?.size, 10);
      assert.equal(await s.getRepositoryBlob('other', d(1)), null);
      assert.equal(await s.getUpload('up1'), null, 'commit ends the upload session');
    });

    test('link (mount) needs a known blob; unlink removes only that link', async () => {
      assert.equal(await s.linkBlob('x', d(2)), false);
      await s.commitBlob('a', { digest: d(2), size: 1 });
      assert.equal(await s.linkBlob('x', d(2)), true);
      assert.ok(await s.getRepositoryBlob('x', d(2)));
      assert.equal(await s.unlinkBlob('x', d(2)), true);
      assert.equal(await s.getRepositoryBlob('x', d(2)), null);
      assert.ok(await s.getRepositoryBlob('a', d(2)));
      assert.equal(await s.unlinkBlob('x', d(2)), false);
    });

    test('a manifest with a blob the repository lacks is refused, and nothing is written', async () => {
      await s.commitBlob('other', { digest: d(3), size: 1 });
      const result = await s.putManifest(manifest('r', d(100), { blobs: [d(3)], tags: ['t'] }));
      assert.deepEqual(result, { ok: false, missingBlob: d(3) });
      assert.equal(await s.getManifest('r', { tag: 't' }), null);
      assert.equal(await s.getManifest('r', { digest: d(100) }), null);
    });

    test('manifest and tags commit together; retag moves the tag', async () => {
      await s.commitBlob('r', { digest: d(4), size: 5 });
      assert.deepEqual(await s.putManifest(manifest('r', d(101), { blobs: [d(4)], tags: ['v1', 'latest'] })), { ok: true });
      const got = await s.getManifest('r', { tag: 'latest' });
      assert.equal(got?.digest, d(101));
      assert.equal(got?.body.toString(), `{"m":"${d(101)}"}`);
      assert.equal(got?.size, got?.body.length);
      await s.putManifest(manifest('r', d(102), { blobs: [d(4)], tags: ['latest'] }));
      assert.equal((await s.getManifest('r', { tag: 'latest' }))?.digest, d(102));
      assert.equal((await s.getManifest('r', { tag: 'v1' }))?.digest, d(101));
      assert.deepEqual(await s.listTags('r', { limit: 10 }), ['latest', 'v1']);
    });

    test('an index needs its children in the same repository', async () => {
      const missing = await s.putManifest(manifest('r', d(110), { manifests: [d(111)] }));
      assert.deepEqual(missing, { ok: false, missingManifest: d(111) });
      await s.putManifest(manifest('r', d(111)));
      assert.deepEqual(await s.putManifest(manifest('r', d(110), { manifests: [d(111)], tags: ['multi'] })), { ok: true });
    });

    test('delete by digest removes the manifest and all its tags; delete tag keeps the manifest', async () => {
      await s.putManifest(manifest('r', d(120), { tags: ['a', 'b'] }));
      await s.putManifest(manifest('r', d(121), { tags: ['c'] }));
      assert.equal(await s.deleteTag('r', 'c'), true);
      assert.equal(await s.deleteTag('r', 'c'), false);
      assert.ok(await s.getManifest('r', { digest: d(121) }));
      assert.equal(await s.deleteManifest('r', d(120)), true);
      assert.equal(await s.getManifest('r', { tag: 'a' }), null);
      assert.deepEqual(await s.listTags('r', { limit: 10 }), []);
      assert.equal(await s.deleteManifest('r', d(120)), false);
    });

    test('tags and repositories paginate in lexical order by key', async () => {
      for (const t of ['b', 'a', 'c', 'A', '1']) await s.putManifest(manifest('p', d(130), { tags: [t] }));
      assert.deepEqual(await s.listTags('p', { limit: 2 }), ['1', 'A']);
      assert.deepEqual(await s.listTags('p', { limit: 2, last: 'A' }), ['a', 'b']);
      assert.deepEqual(await s.listTags('p', { limit: 2, last: 'b' }), ['c']);
      assert.equal(await s.listTags('unknown', { limit: 2 }), null);
      for (const r of ['z/y', 'a', 'm/n']) await s.commitBlob(r, { digest: d(5), size: 1 });
      assert.deepEqual(await s.listRepositories({ limit: 3 }), ['a', 'm/n', 'p']);
      assert.deepEqual(await s.listRepositories({ limit: 10, last: 'p' }), ['z/y']);
    });

    test('referrers are found by subject and filtered by artifact type', async () => {
      await s.putManifest(manifest('r', d(140)));
      await s.putManifest(manifest('r', d(141), { subject: d(140), artifactType: 'application/sig', annotations: { k: 'v' } }));
      await s.putManifest(manifest('r', d(142), { subject: d(140), artifactType: 'application/sbom' }));
      await s.putManifest(manifest('other', d(143), { subject: d(140), artifactType: 'application/sig' }));
      const all = await s.listReferrers('r', d(140));
      assert.deepEqual(all.map((r) => r.digest), [d(141), d(142)]);
      assert.deepEqual(all[0]?.annotations, { k: 'v' });
      const sigs = await s.listReferrers('r', d(140), 'application/sig');
      assert.deepEqual(sigs.map((r) => r.digest), [d(141)]);
      assert.deepEqual(await s.listReferrers('r', d(999)), []);
    });

    test('upload sessions: create, touch, find stale, delete, count', async () => {
      await s.createUpload({ id: 'u-old', repository: 'r', algorithm: 'sha512' });
      const created = await s.getUpload('u-old');
      assert.equal(created?.algorithm, 'sha512');
      assert.equal(created?.repository, 'r');
      await new Promise((r) => setTimeout(r, 5));
      const cutoff = Date.now();
      await new Promise((r) => setTimeout(r, 5));
      await s.createUpload({ id: 'u-new', repository: 'r', algorithm: 'sha256' });
      assert.deepEqual((await s.listUploadsUpdatedBefore(cutoff, 10)).map((u) => u.id), ['u-old']);
      await s.touchUpload('u-old');
      assert.deepEqual(await s.listUploadsUpdatedBefore(cutoff, 10), []);
      assert.equal(await s.countUploads(), 2);
      await s.deleteUpload('u-old');
      assert.equal(await s.getUpload('u-old'), null);
      assert.equal(await s.countUploads(), 1);
    });

    test('recording pulls never fails for manifests that are gone', async () => {
      await s.putManifest(manifest('r', d(150), { tags: ['t'] }));
      await s.recordPulls([
        { repository: 'r', digest: d(150), tag: 't', at: Date.now() },
        { repository: 'gone', digest: d(151), tag: null, at: Date.now() },
      ]);
      await s.ping();
    });

    const ev = (repository: string, n: number, endpoints: string[] = ['hook']) => ({ repository, payload: `{"n":${n}}`, endpoints });

    test('outbox: events commit with their change, and not without it', async () => {
      await s.putManifest(manifest('r', d(160), { tags: ['t'] }), [ev('r', 1)]);
      assert.equal(await s.deleteTag('r', 'missing', [ev('r', 2)]), false);
      assert.equal(await s.deleteManifest('r', d(999), [ev('r', 3)]), false);
      const refused = await s.putManifest(manifest('r', d(161), { blobs: [d(998)] }), [ev('r', 4)]);
      assert.equal(refused.ok, false);
      await s.putManifest(manifest('r', d(162)), [ev('r', 5, [])]);
      const due = await s.dueDeliveries('hook', Date.now() + 1, 10);
      assert.deepEqual(due.map((x) => x.payload), ['{"n":1}']);
      assert.deepEqual(await s.deliveryStats(), [{ endpoint: 'hook', pending: 1, dead: 0 }]);
    });

    test('outbox: one queue per repository and endpoint, head first; retries and dead letters', async () => {
      await s.appendEvents([ev('a', 1, ['h1', 'h2']), ev('a', 2, ['h1']), ev('b', 3, ['h1'])]);
      const now = Date.now() + 1;
      let due = await s.dueDeliveries('h1', now, 10);
      assert.deepEqual(due.map((x) => x.payload), ['{"n":1}', '{"n":3}'], 'only the head of each repository queue');
      await s.markFailed('h1', due[0]!.eventId, 'connection refused', now + 60_000);
      due = await s.dueDeliveries('h1', now, 10);
      assert.deepEqual(due.map((x) => x.payload), ['{"n":3}'], 'a failed head blocks its repository until due');
      due = await s.dueDeliveries('h1', now + 60_000, 10);
      assert.equal(due[0]?.attempts, 1);
      assert.equal(due[0]?.lastError, 'connection refused');
      await s.markDelivered('h1', due[0]!.eventId);
      due = await s.dueDeliveries('h1', now, 10);
      assert.deepEqual(due.map((x) => x.payload), ['{"n":2}', '{"n":3}']);
      assert.deepEqual((await s.dueDeliveries('h2', now, 10)).map((x) => x.payload), ['{"n":1}'], 'endpoints are independent');
      await s.markFailed('h1', due[0]!.eventId, 'HTTP 500', null);
      assert.deepEqual((await s.dueDeliveries('h1', now, 10)).map((x) => x.payload), ['{"n":3}'], 'a dead letter unblocks its queue');
      assert.deepEqual((await s.listDeadDeliveries('h1', 10)).map((x) => x.payload), ['{"n":2}']);
      assert.deepEqual(await s.deliveryStats(), [
        { endpoint: 'h1', pending: 1, dead: 1 },
        { endpoint: 'h2', pending: 1, dead: 0 },
      ]);
      assert.equal(await s.requeueDead('h1'), 1);
      assert.deepEqual((await s.dueDeliveries('h1', Date.now() + 1, 10)).map((x) => x.payload), ['{"n":2}', '{"n":3}']);
    });

    test('stats count repositories, manifests, blobs and bytes', async () => {
      await s.commitBlob('r', { digest: d(170), size: 100 });
      await s.commitBlob('q', { digest: d(171), size: 23 });
      await s.putManifest(manifest('r', d(172)));
      assert.deepEqual(await s.stats(), { repositories: 2, manifests: 1, blobs: 2, blobBytes: 123 });
    });

    test('listBlobs pages through every blob in digest order', async () => {
      for (const n of [183, 181, 182]) await s.commitBlob('r', { digest: d(n), size: n });
      assert.deepEqual((await s.listBlobs({ limit: 2 })).map((b) => b.size), [181, 182]);
      assert.deepEqual((await s.listBlobs({ limit: 2, last: d(182) })).map((b) => b.size), [183]);
    });

    test('repository usage counts distinct linked blobs; delete removes tags, manifests and links, and queues blobs for GC', async () => {
      await s.commitBlob('u', { digest: d(190), size: 100 });
      await s.commitBlob('u', { digest: d(191), size: 50 });
      await s.commitBlob('v', { digest: d(190), size: 100 });
      await s.putManifest(manifest('u', d(192), { blobs: [d(190), d(191)], tags: ['a', 'b'] }));
      assert.deepEqual(await s.repositoryUsage('u'), { name: 'u', blobs: 2, bytes: 150, manifests: 1, tags: 2 });
      assert.deepEqual((await s.listRepositoryUsage({ limit: 10 })).map((r) => [r.name, r.bytes]), [['u', 150], ['v', 100]]);
      assert.equal(await s.repositoryUsage('nope'), null);
      assert.equal(await s.deleteRepository('u', [ev('u', 9)]), true);
      assert.equal(await s.deleteRepository('u'), false);
      assert.equal(await s.repositoryUsage('u'), null);
      assert.equal(await s.getManifest('u', { tag: 'a' }), null);
      assert.ok(await s.getRepositoryBlob('v', d(190)), 'other repositories keep their links');
      assert.deepEqual((await s.dueDeliveries('hook', Date.now() + 1, 10)).map((x) => x.payload), ['{"n":9}']);
      assert.ok((await s.dueBlobReviews(Date.now(), '', 10)).includes(d(191)));
    });

    test('tag details, untagged manifests, and who references a blob', async () => {
      await s.commitBlob('t', { digest: d(200), size: 1 });
      await s.putManifest(manifest('t', d(201), { blobs: [d(200)], tags: ['old'] }));
      await new Promise((r) => setTimeout(r, 5));
      await s.putManifest(manifest('t', d(202), { blobs: [d(200)], tags: ['new'] }));
      await s.putManifest(manifest('t', d(203), { blobs: [d(200)] }));
      const tags = await s.listTagDetails('t');
      assert.deepEqual(tags.map((x) => [x.name, x.digest]), [['new', d(202)], ['old', d(201)]], 'newest first');
      assert.equal(tags[0]!.lastPulledAt, null);
      assert.deepEqual(await s.untaggedManifests('t', Date.now() + 1, 10), [d(203)]);
      assert.deepEqual(await s.untaggedManifests('t', 0, 10), []);
      assert.deepEqual((await s.manifestsReferencing(d(200))).map((m) => m.digest), [d(201), d(202), d(203)]);
      assert.equal(await s.removeBlobRecord(d(200)), true);
      assert.equal(await s.getRepositoryBlob('t', d(200)), null);
      assert.equal(await s.getBlob(d(200)), null);
    });
  });
}
