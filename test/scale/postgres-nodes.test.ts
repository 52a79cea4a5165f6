// Several Wharf nodes on one PostgreSQL: each node is its own PostgresMetadataStore (its own pool), and the tests
// race them on what SQLite's single writer used to serialise: upload caps, GC decisions, pushes against GC,
// repository deletion, the outbox.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PostgresMetadataStore } from '../../src/metadata/postgres/store.js';
import type { GcDecision, MetadataStore } from '../../src/metadata/store.js';
import { clockPast, d, manifest } from '../unit/metadata/conformance/support.js';
import { freshSchema } from './postgres-database.js';

async function withNodes(count: number, body: (nodes: MetadataStore[]) => Promise<void>): Promise<void> {
  const db = await freshSchema();
  const nodes = Array.from({ length: count }, () => new PostgresMetadataStore({ url: db.url, poolSize: 4 }));
  try {
    await body(nodes);
  } finally {
    await Promise.all(nodes.map((n) => n.close()));
    await db.drop();
  }
}

test('nodes opening upload sessions at once never exceed the caps between them', async () => {
  await withNodes(2, async ([a, b]) => {
    const limits = { total: 7, perRepository: 5 };
    const outcomes = await Promise.all(
      Array.from({ length: 40 }, (_, i) => (i % 2 ? a! : b!).openUpload({ id: `u${i}`, repository: i % 3 ? 'r' : 's', algorithm: 'sha256' }, limits)),
    );
    assert.equal(outcomes.filter((o) => o === 'opened').length, 7);
    assert.equal(await a!.countUploads(), 7);
    assert.ok((await b!.uploadUsage('r')).sessions <= 5);
    assert.ok((await b!.uploadUsage('s')).sessions <= 5);
  });
});

test('GC running on two nodes at once deletes each garbage blob exactly once', async () => {
  await withNodes(2, async ([a, b]) => {
    const n = 200;
    const digests = Array.from({ length: n }, (_, i) => d(1000 + i));
    for (const digest of digests) await a!.commitBlob('r', { digest, size: 10 });
    const cutoff = Date.now();
    await clockPast(cutoff);
    const sweep = async (node: MetadataStore, order: string[]): Promise<GcDecision[]> => {
      const out: GcDecision[] = [];
      for (const digest of order) out.push(await node.collectBlob(digest, cutoff, 0, false));
      return out;
    };
    const [fromA, fromB] = await Promise.all([sweep(a!, digests), sweep(b!, [...digests].reverse())]);
    const deleted = [...fromA, ...fromB].filter((x) => x.outcome === 'deleted').length;
    assert.equal(deleted, n, 'one deletion per blob, whichever node made it');
    assert.equal((await a!.pendingBlobDeletions(10 * n)).length, n);
    assert.deepEqual(await b!.stats(), { repositories: 1, manifests: 0, blobs: 0, blobBytes: 0 });
    assert.deepEqual(await b!.repositoryUsage('r'), { name: 'r', blobs: 0, bytes: 0, manifests: 0, tags: 0 });
  });
});

test('a push racing GC on another node: an acknowledged manifest always keeps its blob', async () => {
  await withNodes(2, async ([pusher, collector]) => {
    const outcomes = { acknowledged: 0, refused: 0 };
    for (let i = 0; i < 60; i++) {
      const blob = d(5000 + i);
      await pusher!.commitBlob('r', { digest: blob, size: 1 });
      const cutoff = Date.now();
      await clockPast(cutoff);
      const [put, gc] = await Promise.all([
        pusher!.putManifest(manifest('r', d(9000 + i), { blobs: [blob], tags: [`t${i}`] })),
        collector!.collectBlob(blob, cutoff, 0, false),
      ]);
      if (put.ok) {
        outcomes.acknowledged++;
        assert.ok(await collector!.getRepositoryBlob('r', blob), `manifest ${i} acknowledged, its blob must stay (GC said ${gc.outcome})`);
        assert.notEqual(gc.outcome, 'deleted');
      } else {
        outcomes.refused++;
        assert.deepEqual(put, { ok: false, missingBlob: blob });
        assert.equal(gc.outcome, 'deleted');
        assert.equal(await pusher!.getManifest('r', { tag: `t${i}` }), null, 'a refused manifest writes nothing');
      }
    }
    assert.equal(outcomes.acknowledged + outcomes.refused, 60);
  });
});

test('a repository deleted on one node while another purges deleted repositories ends removed once, counters right', async () => {
  await withNodes(2, async ([a, b]) => {
    const many = 600;
    await a!.commitBlob('keep', { digest: d(1), size: 5 });
    for (let i = 0; i < many; i++) {
      await a!.commitBlob('big', { digest: d(10_000 + i), size: 1 });
      await a!.putManifest(manifest('big', d(20_000 + i), { blobs: [d(10_000 + i)], tags: [`t${i}`] }));
    }
    let purging = true;
    const purger = (async () => {
      while (purging) await b!.purgeDeletedRepositories();
    })();
    assert.equal(await a!.deleteRepository('big'), true);
    while ((await b!.purgeDeletedRepositories()) > 0) await new Promise((r) => setTimeout(r, 20));
    purging = false;
    await purger;
    assert.equal(await b!.repositoryUsage('big'), null);
    assert.deepEqual(await b!.stats(), { repositories: 1, manifests: 0, blobs: many + 1, blobBytes: many + 5 });
    assert.deepEqual(await a!.listRepositories({ limit: 10 }), ['keep']);
  });
});

test('events two nodes append to one repository are each delivered once, each node’s in its order', async () => {
  await withNodes(3, async ([a, b, dispatcher]) => {
    const per = 30;
    const append = async (node: MetadataStore, who: string) => {
      for (let i = 0; i < per; i++) await node.appendEvents([{ repository: 'r', payload: `${who}${i}`, endpoints: ['hook'] }]);
    };
    const delivered: string[] = [];
    const appending = Promise.all([append(a!, 'a'), append(b!, 'b')]);
    let done = false;
    void appending.then(() => (done = true));
    for (;;) {
      const heads = await dispatcher!.dueDeliveries('hook', Date.now() + 1000, 10);
      if (heads.length === 0 && done && (await dispatcher!.dueDeliveries('hook', Date.now() + 1000, 10)).length === 0) break;
      for (const head of heads) {
        delivered.push(head.payload);
        await dispatcher!.markDelivered('hook', head.eventId);
      }
    }
    await appending;
    assert.equal(delivered.length, 2 * per);
    assert.equal(new Set(delivered).size, 2 * per, 'none twice');
    for (const who of ['a', 'b']) {
      assert.deepEqual(
        delivered.filter((p) => p.startsWith(who)),
        Array.from({ length: per }, (_, i) => `${who}${i}`),
      );
    }
  });
});

test('a blob lease taken on one node keeps every other node out until released or expired', async () => {
  await withNodes(2, async ([a, b]) => {
    assert.equal(await a!.acquireBlobLease(d(1), 'upload@a', 60_000), true);
    assert.equal(await b!.acquireBlobLease(d(1), 'gc@b', 60_000), false);
    await a!.releaseBlobLease(d(1), 'upload@a');
    assert.equal(await b!.acquireBlobLease(d(1), 'gc@b', 60_000), true);
    assert.equal(await a!.acquireBlobLease(d(2), 'short@a', 1), true);
    await clockPast(Date.now() + 5);
    assert.equal(await b!.acquireBlobLease(d(2), 'gc@b', 60_000), true, 'expired by the database clock');
  });
});
