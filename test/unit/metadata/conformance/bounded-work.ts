// Conformance, work that grows with the registry: deleting a repository larger than any one transaction, counters
// that stay right through every change (they replace counting rows), and paging that lets callers yield.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { d, ev, later, manifest, type CurrentStore } from './support.js';

/** More than one batch of everything a repository deletion removes (tags, manifests, links). */
const many = 1203;

export function boundedWorkContract(store: CurrentStore): void {
  test('deleting a repository larger than a batch removes all of it, frees the name at once, and queues its blobs', async () => {
    const s = store();
    await s.commitBlob('keep', { digest: d(1), size: 7 });
    for (let i = 0; i < many; i++) {
      await s.commitBlob('big', { digest: d(10_000 + i), size: 10 });
      await s.putManifest(manifest('big', d(20_000 + i), { blobs: [d(10_000 + i)], tags: [`t${i}`] }));
    }
    assert.deepEqual(await s.repositoryUsage('big'), { name: 'big', blobs: many, bytes: many * 10, manifests: many, tags: many });
    const deleting = s.deleteRepository('big', [ev('big', 1)]);
    assert.equal(await s.deleteRepository('big'), false, 'the name is gone as soon as the deletion starts');
    assert.equal(await deleting, true);
    assert.equal(await s.repositoryUsage('big'), null);
    assert.deepEqual(await s.listRepositories({ limit: 10 }), ['keep']);
    assert.deepEqual((await s.listRepositoryUsage({ limit: 10 })).map((r) => r.name), ['keep']);
    assert.deepEqual(await s.stats(), { repositories: 1, manifests: 0, blobs: many + 1, blobBytes: many * 10 + 7 });
    assert.equal(await s.purgeDeletedRepositories(), 0, 'nothing is left half-removed');
    assert.deepEqual((await s.dueDeliveries('hook', later(), 10)).map((x) => x.payload), ['{"n":1}'], 'one event for the deletion');
    assert.deepEqual(await s.dueManifestReviews(later(), null, 10), [], 'no review is left for manifests that are gone');
    let due = 0;
    for (let after = ''; ; ) {
      const page = await s.dueBlobReviews(later(), after, 500);
      due += page.filter((x) => x !== d(1)).length;
      if (page.length < 500) break;
      after = page[page.length - 1]!;
    }
    assert.equal(due, many, 'every blob it held is up for review');
    assert.equal((await s.collectBlob(d(10_000), later(), 0, false)).outcome, 'deleted');

    await s.putManifest(manifest('big', d(30_000), { tags: ['again'] }));
    assert.deepEqual(await s.repositoryUsage('big'), { name: 'big', blobs: 0, bytes: 0, manifests: 1, tags: 1 }, 'a new repository of that name starts empty');
    assert.deepEqual(await s.listTags('big', { limit: 10 }), ['again']);
  });

  test('counters follow tag moves, manifest and tag deletion, GC and fsck removals', async () => {
    const s = store();
    await s.commitBlob('c', { digest: d(1), size: 100 });
    await s.commitBlob('c', { digest: d(2), size: 20 });
    await s.putManifest(manifest('c', d(10), { blobs: [d(1)], tags: ['a', 'b'] }));
    await s.putManifest(manifest('c', d(11), { blobs: [d(2)], tags: ['a'] }));
    assert.deepEqual(await s.repositoryUsage('c'), { name: 'c', blobs: 2, bytes: 120, manifests: 2, tags: 2 }, 'a moved tag is still one tag');
    assert.equal(await s.deleteTag('c', 'b'), true);
    assert.deepEqual(await s.repositoryUsage('c'), { name: 'c', blobs: 2, bytes: 120, manifests: 2, tags: 1 });
    assert.equal((await s.collectManifest({ repository: 'c', digest: d(10) }, later(), 0, false)).outcome, 'deleted');
    assert.equal((await s.collectBlob(d(1), later(), 0, false)).outcome, 'deleted');
    assert.deepEqual(await s.repositoryUsage('c'), { name: 'c', blobs: 1, bytes: 20, manifests: 1, tags: 1 });
    assert.deepEqual(await s.stats(), { repositories: 1, manifests: 1, blobs: 1, blobBytes: 20 });
    assert.equal(await s.deleteManifest('c', d(11)), true);
    assert.equal(await s.removeBlobRecord(d(2)), true);
    assert.deepEqual(await s.repositoryUsage('c'), { name: 'c', blobs: 0, bytes: 0, manifests: 0, tags: 0 });
    assert.deepEqual(await s.stats(), { repositories: 1, manifests: 0, blobs: 0, blobBytes: 0 });
  });

  test('untagged manifests page in digest order after an exclusive bound', async () => {
    const s = store();
    for (const n of [5, 3, 4, 1, 2]) await s.putManifest(manifest('p', d(n), { tags: n === 3 ? ['kept'] : [] }));
    const now = Date.now() + 1;
    assert.deepEqual(await s.untaggedManifests('p', now, 2), [d(1), d(2)]);
    assert.deepEqual(await s.untaggedManifests('p', now, 2, d(2)), [d(4), d(5)]);
    assert.deepEqual(await s.untaggedManifests('p', now, 2, d(5)), []);
  });
}
