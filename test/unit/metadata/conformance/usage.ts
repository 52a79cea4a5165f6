// Conformance, usage and upload sessions: what quotas and upload-session caps rely on.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { d, manifest, type CurrentStore } from './support.js';

export function usageContract(store: CurrentStore): void {
  test('usage follows links as they come and go: commit, mount, unlink, repository delete', async () => {
    const s = store();
    await s.commitBlob('a', { digest: d(1), size: 100 });
    await s.commitBlob('a', { digest: d(1), size: 100 }); // the same blob again costs nothing
    await s.commitBlob('a', { digest: d(2), size: 50 });
    assert.equal((await s.repositoryUsage('a'))?.bytes, 150);
    assert.equal((await s.repositoryUsage('a'))?.blobs, 2);
    assert.equal(await s.linkBlob('b', d(1)), true);
    assert.equal((await s.repositoryUsage('b'))?.bytes, 100);
    assert.equal(await s.unlinkBlob('a', d(1)), true);
    assert.deepEqual([(await s.repositoryUsage('a'))?.bytes, (await s.repositoryUsage('a'))?.blobs], [50, 1]);
    assert.equal(await s.deleteRepository('b'), true);
    assert.equal(await s.repositoryUsage('b'), null);
    assert.equal((await s.repositoryUsage('a'))?.bytes, 50);
  });

  test("GC drops a repository's link to a blob only other repositories' manifests use, once past the cutoff", async () => {
    const s = store();
    await s.commitBlob('x', { digest: d(1), size: 100 });
    await s.commitBlob('y', { digest: d(1), size: 100 });
    assert.deepEqual(await s.putManifest(manifest('x', d(10), { blobs: [d(1)] })), { ok: true });
    assert.deepEqual(await s.putManifest(manifest('y', d(11), { blobs: [d(1)], tags: ['v1'] })), { ok: true });
    assert.equal(await s.deleteManifest('x', d(10)), true);
    assert.equal((await s.repositoryUsage('x'))?.bytes, 100, 'the link stays until GC looks');
    const young = await s.collectBlob(d(1), Date.now() - 60_000, 60_000, false);
    assert.equal(young.outcome, 'kept');
    assert.equal((await s.repositoryUsage('x'))?.bytes, 100, 'a link younger than the cutoff stays (a push in progress)');
    const dry = await s.collectBlob(d(1), Date.now() + 1, 0, true);
    assert.equal(dry.outcome, 'kept');
    assert.equal((await s.repositoryUsage('x'))?.bytes, 100, 'a dry run changes nothing');
    assert.equal((await s.collectBlob(d(1), Date.now() + 1, 0, false)).outcome, 'kept');
    assert.equal((await s.repositoryUsage('x'))?.bytes, 0);
    assert.equal(await s.getRepositoryBlob('x', d(1)), null);
    assert.ok(await s.getRepositoryBlob('y', d(1)), 'the repository whose manifest uses it keeps it');
    assert.ok(await s.getBlob(d(1)));
  });

  test('staged bytes are recorded per session and summed per repository', async () => {
    const s = store();
    await s.createUpload({ id: 'u1', repository: 'r', algorithm: 'sha256' });
    await s.createUpload({ id: 'u2', repository: 'r', algorithm: 'sha256' });
    await s.createUpload({ id: 'u3', repository: 'other', algorithm: 'sha256' });
    await s.touchUpload('u1', 300);
    await s.touchUpload('u2', 20);
    await s.touchUpload('u2'); // a touch without a size keeps the recorded one
    assert.deepEqual(await s.uploadUsage('r'), { sessions: 2, bytes: 320 });
    assert.equal((await s.getUpload('u1'))?.size, 300);
    await s.commitBlob('r', { digest: d(5), size: 300 }, 'u1');
    assert.deepEqual(await s.uploadUsage('r'), { sessions: 1, bytes: 20 });
    assert.deepEqual(await s.uploadUsage('none'), { sessions: 0, bytes: 0 });
  });

  test('openUpload refuses beyond the total and the per-repository caps, and counts what is open now', async () => {
    const s = store();
    const limits = { total: 3, perRepository: 2 };
    const open = (id: string, repository: string) => s.openUpload({ id, repository, algorithm: 'sha256' }, limits);
    assert.equal(await open('a1', 'a'), 'opened');
    assert.equal(await open('a2', 'a'), 'opened');
    assert.equal(await open('a3', 'a'), 'repository-limit');
    assert.equal(await open('b1', 'b'), 'opened');
    assert.equal(await open('c1', 'c'), 'total-limit');
    assert.equal(await s.getUpload('c1'), null);
    await s.deleteUpload('a1');
    assert.equal(await open('a3', 'a'), 'opened');
    assert.equal(await s.countUploads(), 3);
  });

  test('listing stale sessions can be limited to those that never staged a byte', async () => {
    const s = store();
    await s.createUpload({ id: 'empty', repository: 'r', algorithm: 'sha256' });
    await s.createUpload({ id: 'begun', repository: 'r', algorithm: 'sha256' });
    await s.touchUpload('begun', 10);
    const later = Date.now() + 1000;
    assert.deepEqual((await s.listUploadsUpdatedBefore(later, 10, true)).map((u) => u.id), ['empty']);
    assert.deepEqual((await s.listUploadsUpdatedBefore(later, 10)).map((u) => u.id).sort(), ['begun', 'empty']);
  });
}
