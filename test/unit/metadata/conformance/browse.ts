// Conformance, the web UI's browse port: repositories searched, sorted, filtered and paged by the store; tags with
// the manifest they point at, its deduplicated content size, an index's body and its referrers' types.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RepositoryQuery } from '../../../../src/metadata/browse.js';
import { d, manifest, type CurrentStore } from './support.js';

const INDEX = 'application/vnd.oci.image.index.v1+json';
const query = (extra: Partial<RepositoryQuery> = {}): RepositoryQuery => ({ search: '', sort: 'name', descending: false, offset: 0, limit: 50, ...extra });

export function browseContract(store: CurrentStore): void {
  test('browse: repositories with sizes and counts, searched case-insensitively, sorted, filtered before paging', async () => {
    const s = store();
    await s.commitBlob('team-a/big', { digest: d(1), size: 1000 });
    await s.commitBlob('team-a/big', { digest: d(2), size: 500 });
    await s.putManifest(manifest('team-a/big', d(10), { blobs: [d(1), d(2)], tags: ['v1', 'v2'] }));
    await s.commitBlob('team-b/small', { digest: d(3), size: 10 });
    await s.putManifest(manifest('team-b/small', d(11), { blobs: [d(3)], tags: ['x'] }));
    await s.commitBlob('other', { digest: d(1), size: 1000 });
    await s.commitBlob('gone', { digest: d(4), size: 1 });
    await s.deleteRepository('gone');

    const all = await s.browseRepositories(query(), null);
    assert.equal(all.total, 3, 'a deleted repository is not listed');
    assert.deepEqual(all.items.map((r) => r.name), ['other', 'team-a/big', 'team-b/small']);
    const big = all.items[1]!;
    assert.deepEqual([big.bytes, big.tags, big.manifests], [1500, 2, 1]);
    assert.ok(big.pushedAt !== null && big.pushedAt > Date.now() - 60_000);
    assert.equal(big.pulledAt, null);
    assert.equal(all.items[0]!.pushedAt, null, 'a repository without manifests was never pushed to');

    assert.deepEqual((await s.browseRepositories(query({ search: 'TEAM' }), null)).items.map((r) => r.name), ['team-a/big', 'team-b/small']);
    assert.deepEqual((await s.browseRepositories(query({ sort: 'size', descending: true }), null)).items.map((r) => r.name), ['team-a/big', 'other', 'team-b/small']);
    assert.deepEqual((await s.browseRepositories(query({ sort: 'tags', descending: true }), null)).items.map((r) => r.name), ['team-a/big', 'team-b/small', 'other']);
    assert.deepEqual((await s.browseRepositories(query({ sort: 'name', descending: true, offset: 1, limit: 1 }), null)).items.map((r) => r.name), ['team-a/big']);
    const filtered = await s.browseRepositories(query({ limit: 1 }), (name) => name.startsWith('team-'));
    assert.equal(filtered.total, 2, 'the total counts only what the caller may see');
    assert.deepEqual(filtered.items.map((r) => r.name), ['team-a/big']);

    await s.recordPulls([{ repository: 'team-b/small', digest: d(11), tag: 'x', at: Date.now() }]);
    assert.equal((await s.browseRepositories(query({ sort: 'pulled', descending: true, limit: 1 }), null)).items[0]!.name, 'team-b/small');
  });

  test('browse: tags with their manifest, deduplicated content size through an index, index body, referrer types', async () => {
    const s = store();
    assert.equal(await s.browseTags('nothing'), null);
    await s.commitBlob('r', { digest: d(1), size: 100 }); // shared layer
    await s.commitBlob('r', { digest: d(2), size: 20 });
    await s.commitBlob('r', { digest: d(3), size: 30 });
    await s.putManifest(manifest('r', d(10), { blobs: [d(1), d(2)] }));
    await s.putManifest(manifest('r', d(11), { blobs: [d(1), d(3)], tags: ['arm'] }));
    const indexBody = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: INDEX, manifests: [{ digest: d(10) }, { digest: d(11) }] }));
    await s.putManifest(manifest('r', d(12), { mediaType: INDEX, body: indexBody, manifests: [d(10), d(11)], tags: ['multi', 'latest'] }));
    await s.putManifest(manifest('r', d(13), { subject: d(11), artifactType: 'application/spdx+json' }));
    await s.putManifest(manifest('r', d(14), { subject: d(11), artifactType: 'application/vnd.dev.cosign.artifact.sig.v1+json' }));

    const tags = (await s.browseTags('r'))!;
    assert.deepEqual(tags.map((t) => [t.name, t.digest]), [['arm', d(11)], ['latest', d(12)], ['multi', d(12)]]);
    const [arm, latest] = tags as [(typeof tags)[0], (typeof tags)[0]];
    assert.equal(arm.contentSize, 130);
    assert.equal(latest.contentSize, 150, 'the shared layer counts once');
    assert.equal(latest.mediaType, INDEX);
    assert.deepEqual(latest.indexBody, indexBody);
    assert.equal(arm.indexBody, null, 'only an index carries its body');
    assert.deepEqual([...arm.referrerTypes].sort(), ['application/spdx+json', 'application/vnd.dev.cosign.artifact.sig.v1+json']);
    assert.deepEqual(latest.referrerTypes, []);
    assert.ok(arm.pushedAt > Date.now() - 60_000);
    assert.equal(arm.pulledAt, null);
  });
}
