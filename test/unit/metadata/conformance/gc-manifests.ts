// Conformance, online GC of manifests: the manifest review queue (kept as tags move and go) and collectManifest,
// which deletes an untagged manifest only when no surviving index or subject keeps it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ManifestReview, MetadataStore } from '../../../../src/metadata/store.js';
import { d, later, manifest, type CurrentStore } from './support.js';

const grace = 60_000;

async function due(s: MetadataStore): Promise<string[]> {
  return (await s.dueManifestReviews(later(), null, 1000)).map((r) => `${r.repository}@${r.digest}`);
}

/** Reviews every queued manifest once with an old-enough cutoff: what is kept leaves the queue. */
async function drain(s: MetadataStore): Promise<void> {
  for (const review of await s.dueManifestReviews(later(), null, 1000)) await s.collectManifest(review, Date.now(), grace, false);
}

export function gcManifestContract(store: CurrentStore): void {
  test('gc: a tagged manifest is kept and leaves the queue; moving or deleting its tag queues it again', async () => {
    const s = store();
    await s.putManifest(manifest('r', d(100), { tags: ['a', 'pinned'] }));
    await s.putManifest(manifest('r', d(101), { tags: ['other'] }));
    assert.deepEqual(await s.collectManifest({ repository: 'r', digest: d(100) }, Date.now(), grace, false), {
      outcome: 'kept',
      size: manifest('r', d(100)).body.length,
    });
    await drain(s);
    assert.ok(!(await due(s)).includes(`r@${d(100)}`), 'looked at, nothing changed: not queued');
    await s.putManifest(manifest('r', d(101), { tags: ['a'] }));
    assert.ok((await due(s)).includes(`r@${d(100)}`), 'a tag moved away: queued');
    assert.equal((await s.collectManifest({ repository: 'r', digest: d(100) }, Date.now(), grace, false)).outcome, 'kept', 'still tagged "pinned"');
    assert.equal(await s.deleteTag('r', 'pinned'), true);
    assert.ok((await due(s)).includes(`r@${d(100)}`), 'a tag deletion queues a review');
  });

  test('gc: an untagged manifest is deferred within grace, previewed by a dry run, then deleted', async () => {
    const s = store();
    await s.putManifest(manifest('r', d(110), { tags: ['t'] }));
    const created = (await s.getManifest('r', { digest: d(110) }))!.createdAt;
    await drain(s);
    await s.deleteTag('r', 't');
    const review: ManifestReview = { repository: 'r', digest: d(110) };
    const size = manifest('r', d(110)).body.length;

    assert.deepEqual(await s.collectManifest(review, created - 1, grace, false), { outcome: 'deferred', size });
    assert.ok(await s.getManifest('r', { digest: d(110) }), 'deferred: nothing deleted');
    assert.ok(!(await s.dueManifestReviews(Date.now(), null, 100)).some((r) => r.digest === d(110)), 'not due again until old enough');
    assert.ok((await due(s)).includes(`r@${d(110)}`), 'still queued for a later pass');

    assert.deepEqual(await s.collectManifest(review, Date.now(), grace, true), { outcome: 'would-delete', size });
    assert.ok(await s.getManifest('r', { digest: d(110) }), 'a dry run deletes nothing');
    assert.ok((await due(s)).includes(`r@${d(110)}`), 'and leaves it queued');

    assert.deepEqual(await s.collectManifest(review, Date.now(), grace, false), { outcome: 'deleted', size });
    assert.equal(await s.getManifest('r', { digest: d(110) }), null);
    assert.ok(!(await due(s)).includes(`r@${d(110)}`));
    assert.equal((await s.collectManifest(review, Date.now(), grace, false)).outcome, 'gone');
  });

  test('gc: deleting a manifest queues the blobs it referenced', async () => {
    const s = store();
    await s.commitBlob('r', { digest: d(1), size: 1 });
    await s.putManifest(manifest('r', d(111), { blobs: [d(1)] }));
    assert.equal((await s.collectBlob(d(1), Date.now(), grace, false)).outcome, 'kept');
    assert.ok(!(await s.dueBlobReviews(later(), '', 100)).includes(d(1)));
    assert.equal((await s.collectManifest({ repository: 'r', digest: d(111) }, Date.now(), grace, false)).outcome, 'deleted');
    assert.ok((await s.dueBlobReviews(later(), '', 100)).includes(d(1)), 'its blob may now be garbage');
    assert.deepEqual(await s.collectBlob(d(1), Date.now(), grace, false), { outcome: 'deleted', size: 1 });
  });

  test('gc: an index keeps its children; deleting the index queues them, and then they go', async () => {
    const s = store();
    await s.putManifest(manifest('r', d(120)));
    await s.putManifest(manifest('r', d(121)));
    await s.putManifest(manifest('r', d(122), { manifests: [d(120), d(121)], tags: ['multi'] }));
    const child = { repository: 'r', digest: d(120) };
    assert.equal((await s.collectManifest(child, Date.now(), grace, false)).outcome, 'kept', 'a surviving index keeps it');
    await drain(s);
    assert.deepEqual(await due(s), []);
    await s.deleteTag('r', 'multi');
    assert.deepEqual(await due(s), [`r@${d(122)}`]);
    assert.equal((await s.collectManifest({ repository: 'r', digest: d(122) }, Date.now(), grace, false)).outcome, 'deleted');
    assert.deepEqual((await due(s)).sort(), [`r@${d(120)}`, `r@${d(121)}`], 'the children may now be garbage');
    assert.equal((await s.collectManifest(child, Date.now(), grace, false)).outcome, 'deleted');
  });

  test('gc: a referrer is kept while its subject survives; deleting the subject queues it', async () => {
    const s = store();
    await s.putManifest(manifest('r', d(130), { tags: ['app'] }));
    await s.putManifest(manifest('r', d(131), { subject: d(130), artifactType: 'application/sig' }));
    const referrer = { repository: 'r', digest: d(131) };
    assert.equal((await s.collectManifest(referrer, Date.now(), grace, false)).outcome, 'kept');
    await drain(s);
    await s.deleteTag('r', 'app');
    assert.equal((await s.collectManifest({ repository: 'r', digest: d(130) }, Date.now(), grace, false)).outcome, 'deleted');
    assert.ok((await due(s)).includes(`r@${d(131)}`), 'the referrer may now be garbage');
    assert.equal((await s.collectManifest(referrer, Date.now(), grace, false)).outcome, 'deleted');
    assert.deepEqual(await s.listReferrers('r', d(130)), []);
  });

  test('gc: a manifest in another repository keeps nothing here', async () => {
    const s = store();
    await s.putManifest(manifest('a', d(140)));
    await s.putManifest(manifest('b', d(140), { tags: ['t'] }));
    assert.equal((await s.collectManifest({ repository: 'a', digest: d(140) }, Date.now(), grace, false)).outcome, 'deleted');
    assert.ok(await s.getManifest('b', { tag: 't' }));
  });

  test('gc: due manifest reviews page by repository, then digest, after an exclusive bound', async () => {
    const s = store();
    for (const [repo, n] of [['b', 152], ['a', 151], ['b', 150], ['a', 150]] as const) await s.putManifest(manifest(repo, d(n)));
    const now = later();
    const first = await s.dueManifestReviews(now, null, 3);
    assert.deepEqual(first, [
      { repository: 'a', digest: d(150) },
      { repository: 'a', digest: d(151) },
      { repository: 'b', digest: d(150) },
    ]);
    assert.deepEqual(await s.dueManifestReviews(now, first[2]!, 3), [{ repository: 'b', digest: d(152) }]);
    assert.deepEqual(await s.dueManifestReviews(now, { repository: 'b', digest: d(152) }, 3), []);
  });
}
