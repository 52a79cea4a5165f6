// Conformance, content: blobs and links, manifests and tags, referrers, uploads, pulls, usage and stats.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { clockPast, d, ev, manifest, type CurrentStore } from './support.js';

export function contentContract(store: CurrentStore): void {
  test('a committed blob is linked to its repository only', async () => {
    const s = store();
    await s.createUpload({ id: 'up1', repository: 'a/b', algorithm: 'sha256' });
    await s.commitBlob('a/b', { digest: d(1), size: 10 }, 'up1');
    assert.equal((await s.getBlob(d(1)))?.size, 10);
    assert.equal((await s.getRepositoryBlob('a/b', d(1)))?.size, 10);
    assert.equal(await s.getRepositoryBlob('other', d(1)), null);
    assert.equal(await s.getUpload('up1'), null, 'commit ends the upload session');
  });

  test('link (mount) needs a known blob; unlink removes only that link', async () => {
    const s = store();
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
    const s = store();
    await s.commitBlob('other', { digest: d(3), size: 1 });
    const result = await s.putManifest(manifest('r', d(100), { blobs: [d(3)], tags: ['t'] }));
    assert.deepEqual(result, { ok: false, missingBlob: d(3) });
    assert.equal(await s.getManifest('r', { tag: 't' }), null);
    assert.equal(await s.getManifest('r', { digest: d(100) }), null);
  });

  test('manifest and tags commit together; retag moves the tag', async () => {
    const s = store();
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

  test('the content version moves with every change a cached read could miss: push, retag, untag, delete', async () => {
    const s = store();
    await s.commitBlob('r', { digest: d(5), size: 5 });
    const first = await s.contentVersion();
    // A store without versions (null) must say so every time: a version appearing later would be trusted by a cache.
    const versioned = first !== null;
    const seen = new Set<string | null>([first]);
    const moved = async (what: string) => {
      const v = await s.contentVersion();
      if (!versioned) return assert.equal(v, null, `still no version after ${what}`);
      assert.ok(!seen.has(v), `the version moved after ${what}`);
      seen.add(v);
    };
    await s.putManifest(manifest('r', d(103), { blobs: [d(5)], tags: ['latest'] }));
    await moved('a push');
    await s.putManifest(manifest('r', d(104), { blobs: [d(5)], tags: ['latest'] }));
    await moved('a retag');
    await s.deleteTag('r', 'latest');
    await moved('an untag');
    await s.deleteManifest('r', d(103));
    await moved('a manifest delete');
  });

  test('an index needs its children in the same repository', async () => {
    const s = store();
    const missing = await s.putManifest(manifest('r', d(110), { manifests: [d(111)] }));
    assert.deepEqual(missing, { ok: false, missingManifest: d(111) });
    await s.putManifest(manifest('r', d(111)));
    assert.deepEqual(await s.putManifest(manifest('r', d(110), { manifests: [d(111)], tags: ['multi'] })), { ok: true });
  });

  test('delete by digest removes the manifest and all its tags; delete tag keeps the manifest', async () => {
    const s = store();
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
    const s = store();
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
    const s = store();
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
    const s = store();
    await s.createUpload({ id: 'u-old', repository: 'r', algorithm: 'sha512' });
    const created = await s.getUpload('u-old');
    assert.equal(created?.algorithm, 'sha512');
    assert.equal(created?.repository, 'r');
    await clockPast(created!.updatedAt);
    const cutoff = Date.now();
    await clockPast(cutoff);
    await s.createUpload({ id: 'u-new', repository: 'r', algorithm: 'sha256' });
    assert.deepEqual((await s.listUploadsUpdatedBefore(cutoff, 10)).map((u) => u.id), ['u-old']);
    await s.touchUpload('u-old');
    assert.deepEqual(await s.listUploadsUpdatedBefore(cutoff, 10), []);
    assert.equal(await s.countUploads(), 2);
    await s.deleteUpload('u-old');
    assert.equal(await s.getUpload('u-old'), null);
    assert.equal(await s.countUploads(), 1);
  });

  test('recorded pulls show on the tag pulled; pulls of manifests that are gone are ignored', async () => {
    const s = store();
    await s.putManifest(manifest('r', d(150), { tags: ['t', 'u'] }));
    const at = Date.now() - 1000;
    await s.recordPulls([
      { repository: 'r', digest: d(150), tag: 't', at },
      { repository: 'gone', digest: d(151), tag: null, at },
    ]);
    const details = new Map((await s.listTagDetails('r')).map((x) => [x.name, x.lastPulledAt]));
    assert.deepEqual([details.get('t'), details.get('u')], [at, null], 'by tag: only the tag pulled');
    await s.ping();
  });

  test('stats count repositories, manifests, blobs and bytes', async () => {
    const s = store();
    await s.commitBlob('r', { digest: d(170), size: 100 });
    await s.commitBlob('q', { digest: d(171), size: 23 });
    await s.putManifest(manifest('r', d(172)));
    assert.deepEqual(await s.stats(), { repositories: 2, manifests: 1, blobs: 2, blobBytes: 123 });
  });

  test('listBlobs pages through every blob in digest order', async () => {
    const s = store();
    for (const n of [183, 181, 182]) await s.commitBlob('r', { digest: d(n), size: n });
    assert.deepEqual((await s.listBlobs({ limit: 2 })).map((b) => b.size), [181, 182]);
    assert.deepEqual((await s.listBlobs({ limit: 2, last: d(182) })).map((b) => b.size), [183]);
  });

  test('repository usage counts distinct linked blobs; delete removes tags, manifests and links, and queues blobs for GC', async () => {
    const s = store();
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
    const s = store();
    await s.commitBlob('t', { digest: d(200), size: 1 });
    await s.putManifest(manifest('t', d(201), { blobs: [d(200)], tags: ['old'] }));
    await clockPast((await s.listTagDetails('t'))[0]!.updatedAt);
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
}
