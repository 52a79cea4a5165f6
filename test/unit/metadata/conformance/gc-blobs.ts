// Conformance, online GC of blobs: leases, the blob review queue, collectBlob and pending deletions. GC relies on
// each of these (src/gc/collector.ts): a store that bends one of them lets GC delete bytes a push still needs.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { GcTrigger } from '../../../../src/metadata/store.js';
import { clockPast, d, later, manifest, type CurrentStore } from './support.js';

const grace = 60_000;

export function gcBlobContract(store: CurrentStore): void {
  test('gc: pass totals add up across passes and keep the last one in full (metrics, `wharf status` and the UI read them, whichever process ran GC)', async () => {
    const s = store();
    assert.deepEqual(await s.gcTotals(), {
      runs: 0, freedBytes: 0, deletedBlobs: 0, deletedManifests: 0,
      lastFinishedAt: null, lastFreedBytes: 0, lastDeletedBlobs: 0, lastDeletedManifests: 0, lastDurationMs: 0, lastTrigger: null,
    });
    await s.recordGcPass({ freedBytes: 100, deletedBlobs: 2, deletedManifests: 1, finishedAt: 1000, durationMs: 40, trigger: 'schedule' });
    await s.recordGcPass({ freedBytes: 5, deletedBlobs: 1, deletedManifests: 3, finishedAt: 2000, durationMs: 12.6, trigger: 'cli' });
    assert.deepEqual(await s.gcTotals(), {
      runs: 2, freedBytes: 105, deletedBlobs: 3, deletedManifests: 4,
      lastFinishedAt: 2000, lastFreedBytes: 5, lastDeletedBlobs: 1, lastDeletedManifests: 3, lastDurationMs: 13, lastTrigger: 'cli',
    });
    await s.recordGcPass({ freedBytes: 0, deletedBlobs: 0, deletedManifests: 0, finishedAt: 3000, durationMs: 1, trigger: 'ui' });
    assert.equal((await s.gcTotals()).lastTrigger, 'ui');
    await assert.rejects(
      s.recordGcPass({ freedBytes: 0, deletedBlobs: 0, deletedManifests: 0, finishedAt: 4000, durationMs: 1, trigger: 'cron' as GcTrigger }),
      'a trigger the store does not know is refused',
    );
    assert.equal((await s.gcTotals()).runs, 3);
  });

  test('gc: a blob lease is exclusive per digest and released only by its owner', async () => {
    const s = store();
    assert.equal(await s.acquireBlobLease(d(1), 'upload-1', 60_000), true);
    assert.equal(await s.acquireBlobLease(d(1), 'gc-1', 60_000), false, 'held by another owner');
    assert.equal(await s.acquireBlobLease(d(2), 'gc-1', 60_000), true, 'another digest is free');
    await s.releaseBlobLease(d(1), 'gc-1');
    assert.equal(await s.acquireBlobLease(d(1), 'gc-2', 60_000), false, 'a release by someone else frees nothing');
    await s.releaseBlobLease(d(1), 'upload-1');
    assert.equal(await s.acquireBlobLease(d(1), 'gc-2', 60_000), true, 'free once its owner released it');
    await s.releaseBlobLease(d(3), 'nobody'); // releasing a lease never held is harmless
    assert.equal(await s.acquireBlobLease(d(3), 'gc-3', 60_000), true);
  });

  test('gc: an expired lease is taken over, and its old owner can no longer release it', async () => {
    const s = store();
    const ttl = 5;
    assert.equal(await s.acquireBlobLease(d(4), 'crashed-upload', ttl), true);
    assert.equal(await s.acquireBlobLease(d(4), 'gc', 60_000), false, 'not expired yet');
    await clockPast(Date.now() + ttl + 1);
    assert.equal(await s.acquireBlobLease(d(4), 'gc', 60_000), true, 'expired: taken over');
    await s.releaseBlobLease(d(4), 'crashed-upload');
    assert.equal(await s.acquireBlobLease(d(4), 'another', 60_000), false, 'the old owner released nothing of the new lease');
  });

  test('gc: an upload committing a digest keeps GC out; once committed and released, the fresh blob is within grace', async () => {
    const s = store();
    assert.equal(await s.acquireBlobLease(d(5), 'upload', 60_000), true);
    assert.equal(await s.acquireBlobLease(d(5), 'gc', 60_000), false, 'GC skips a digest being committed');
    await s.commitBlob('r', { digest: d(5), size: 5 });
    await s.releaseBlobLease(d(5), 'upload');
    assert.equal(await s.acquireBlobLease(d(5), 'gc', 60_000), true);
    const decision = await s.collectBlob(d(5), Date.now() - grace, grace, false);
    assert.deepEqual(decision, { outcome: 'deferred', size: 5 });
    assert.ok(await s.getRepositoryBlob('r', d(5)));
  });

  test('gc: a new blob nothing references is queued; younger than the cutoff it is deferred, not deleted', async () => {
    const s = store();
    await s.commitBlob('r', { digest: d(10), size: 10 });
    const blob = (await s.getBlob(d(10)))!;
    assert.ok((await s.dueBlobReviews(later(), '', 100)).includes(d(10)), 'a new blob may be garbage: queued');
    assert.deepEqual(await s.collectBlob(d(10), blob.createdAt - 1, grace, false), { outcome: 'deferred', size: 10 });
    assert.ok(await s.getRepositoryBlob('r', d(10)), 'deferred: nothing deleted');
    assert.deepEqual(await s.pendingBlobDeletions(100), []);
    assert.ok(!(await s.dueBlobReviews(Date.now(), '', 100)).includes(d(10)), 'not due again until it can be old enough');
    assert.ok((await s.dueBlobReviews(later(), '', 100)).includes(d(10)), 'still queued for a later pass');
  });

  test('gc: a link younger than the cutoff defers the blob, however old the blob is', async () => {
    const s = store();
    await s.commitBlob('r', { digest: d(11), size: 11 });
    const blob = (await s.getBlob(d(11)))!;
    await clockPast(blob.createdAt);
    assert.equal(await s.linkBlob('q', d(11)), true);
    assert.deepEqual(await s.collectBlob(d(11), blob.createdAt, grace, false), { outcome: 'deferred', size: 11 });
    assert.ok(await s.getRepositoryBlob('q', d(11)));
    assert.ok(await s.getRepositoryBlob('r', d(11)));
  });

  test('gc: a dry run reports would-delete and changes nothing', async () => {
    const s = store();
    await s.commitBlob('r', { digest: d(12), size: 12 });
    const cutoff = Date.now();
    assert.deepEqual(await s.collectBlob(d(12), cutoff, grace, true), { outcome: 'would-delete', size: 12 });
    assert.equal((await s.getBlob(d(12)))?.size, 12);
    assert.ok(await s.getRepositoryBlob('r', d(12)));
    assert.deepEqual(await s.pendingBlobDeletions(100), []);
    assert.ok((await s.dueBlobReviews(later(), '', 100)).includes(d(12)), 'still queued');
    assert.deepEqual(await s.collectBlob(d(12), cutoff, grace, true), { outcome: 'would-delete', size: 12 }, 'and says so again');
  });

  test('gc: an old unreferenced blob is deleted with all its links and becomes a pending deletion until cleared', async () => {
    const s = store();
    await s.commitBlob('r', { digest: d(13), size: 13 });
    await s.linkBlob('q', d(13));
    const cutoff = Date.now();
    assert.deepEqual(await s.collectBlob(d(13), cutoff, grace, false), { outcome: 'deleted', size: 13 });
    assert.equal(await s.getBlob(d(13)), null);
    assert.equal(await s.getRepositoryBlob('r', d(13)), null);
    assert.equal(await s.getRepositoryBlob('q', d(13)), null);
    assert.deepEqual((await s.listBlobs({ limit: 10 })).map((b) => b.digest), []);
    assert.deepEqual(await s.pendingBlobDeletions(100), [d(13)], 'the bytes are still to be deleted');
    assert.ok(!(await s.dueBlobReviews(later(), '', 100)).includes(d(13)), 'nothing left to review');
    assert.equal((await s.collectBlob(d(13), cutoff, grace, false)).outcome, 'gone');
    assert.equal(await s.clearPendingDeletion(d(13)), true, 'the call that forgets it says so');
    assert.deepEqual(await s.pendingBlobDeletions(100), []);
    assert.equal(await s.clearPendingDeletion(d(13)), false, 'clearing twice is harmless, and the second pass knows it came late');
  });

  test('gc: pending deletions honour the limit and survive until each is cleared', async () => {
    const s = store();
    for (const n of [14, 15, 16]) await s.commitBlob('r', { digest: d(n), size: n });
    const cutoff = Date.now();
    for (const n of [14, 15, 16]) assert.equal((await s.collectBlob(d(n), cutoff, grace, false)).outcome, 'deleted');
    assert.equal((await s.pendingBlobDeletions(2)).length, 2);
    assert.deepEqual((await s.pendingBlobDeletions(10)).sort(), [d(14), d(15), d(16)]);
    await s.clearPendingDeletion(d(15));
    assert.deepEqual((await s.pendingBlobDeletions(10)).sort(), [d(14), d(16)]);
  });

  test('gc: a blob a manifest references (in any repository) is kept and leaves the queue', async () => {
    const s = store();
    await s.commitBlob('a', { digest: d(20), size: 20 });
    await s.linkBlob('b', d(20));
    await s.putManifest(manifest('a', d(120), { blobs: [d(20)], tags: ['t'] }));
    const cutoff = Date.now();
    assert.deepEqual(await s.collectBlob(d(20), cutoff, grace, false), { outcome: 'kept', size: 20 });
    assert.ok(await s.getRepositoryBlob('a', d(20)));
    assert.equal(await s.getRepositoryBlob('b', d(20)), null, "b's link, past the cutoff and used by no manifest of b, is dropped");
    assert.ok(!(await s.dueBlobReviews(later(), '', 100)).includes(d(20)), 'looked at, nothing changed: not queued');
    assert.deepEqual(await s.pendingBlobDeletions(100), []);
  });

  test('gc: unlinking a blob or dropping the last reference queues it for review again', async () => {
    const s = store();
    await s.commitBlob('a', { digest: d(21), size: 21 });
    await s.putManifest(manifest('a', d(121), { blobs: [d(21)], tags: ['t'] }));
    assert.equal((await s.collectBlob(d(21), Date.now(), grace, false)).outcome, 'kept');
    assert.equal(await s.unlinkBlob('a', d(21)), true);
    assert.ok((await s.dueBlobReviews(later(), '', 100)).includes(d(21)), 'a link removal queues a review');
    assert.equal((await s.collectBlob(d(21), Date.now(), grace, false)).outcome, 'kept', 'still referenced');
    assert.ok(!(await s.dueBlobReviews(later(), '', 100)).includes(d(21)));
    assert.equal(await s.deleteManifest('a', d(121)), true);
    assert.ok((await s.dueBlobReviews(later(), '', 100)).includes(d(21)), 'the reference dropped: queued');
    assert.deepEqual(await s.collectBlob(d(21), Date.now(), grace, false), { outcome: 'deleted', size: 21 });
  });

  test('gc: due blob reviews page in digest order after an exclusive bound', async () => {
    const s = store();
    for (const n of [33, 31, 32]) await s.commitBlob('r', { digest: d(n), size: n });
    const now = later();
    assert.deepEqual(await s.dueBlobReviews(now, '', 2), [d(31), d(32)]);
    assert.deepEqual(await s.dueBlobReviews(now, d(32), 2), [d(33)]);
    assert.deepEqual(await s.dueBlobReviews(now, d(33), 2), []);
  });

  test('gc: a blob pushed again after GC deleted it is a new blob, queued and within grace', async () => {
    const s = store();
    await s.commitBlob('r', { digest: d(40), size: 40 });
    assert.equal((await s.collectBlob(d(40), Date.now(), grace, false)).outcome, 'deleted');
    await s.commitBlob('r', { digest: d(40), size: 40 });
    const blob = (await s.getBlob(d(40)))!;
    assert.ok(await s.getRepositoryBlob('r', d(40)));
    assert.ok((await s.dueBlobReviews(later(), '', 100)).includes(d(40)));
    assert.equal((await s.collectBlob(d(40), blob.createdAt - 1, grace, false)).outcome, 'deferred');
  });
}
