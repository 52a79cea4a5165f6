// Conformance, the logical export (ExportableStore): what backup, restore and a move between databases rely on.
// A store filled through its ports is exported and imported into a fresh store of the same kind; every port query
// must answer the same there, and the imported store's own export must be the same lines. Damaged, truncated and
// foreign input is refused with the store left empty; a non-empty store is refused.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ExportFormatError, StoreNotEmptyError, type ExportLine } from '../../../../src/metadata/export-format.js';
import type { Delivery, MetadataStore } from '../../../../src/metadata/store.js';
import { d, ev, later, manifest, type CurrentStore, type StoreFixture } from './support.js';

const REFERRER = 'application/vnd.example.signature';

/** Varied content, through the ports only: what the export must carry. */
async function fill(s: MetadataStore): Promise<void> {
  await s.commitBlob('team/app', { digest: d(1), size: 100 });
  await s.commitBlob('team/app', { digest: d(2), size: 2000 });
  await s.commitBlob('team/app', { digest: d(3), size: 30 }); // loose: no manifest uses it
  await s.linkBlob('other', d(1)); // mounted into a second repository
  await s.putManifest(manifest('team/app', d(10), { blobs: [d(1), d(2)], tags: ['v1', 'latest'] }));
  await s.putManifest(manifest('team/app', d(11), { blobs: [d(1)], tags: ['latest'] }), [ev('team/app', 1, ['h1', 'h2'])]);
  await s.putManifest(manifest('team/app', d(12), { blobs: [d(2)] })); // untagged
  await s.putManifest(manifest('other', d(20), { blobs: [d(1)] }));
  await s.putManifest(manifest('other', d(21), { blobs: [d(1)] }));
  const index = manifest('other', d(22), { mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [d(20), d(21)], tags: ['multi'] });
  await s.putManifest(index);
  await s.putManifest(
    manifest('other', d(23), { subject: d(20), artifactType: REFERRER, annotations: { 'org.example.signed-by': 'ci', 'a.b': 'ü' }, blobs: [d(1)] }),
  );
  await s.recordPulls([{ repository: 'team/app', digest: d(10), tag: 'v1', at: 1_700_000_000_000 }]);
  // A repository that is deleted is gone: not exported, and its name free.
  await s.commitBlob('gone', { digest: d(4), size: 4 });
  await s.putManifest(manifest('gone', d(40), { blobs: [d(4)], tags: ['t'] }));
  await s.deleteRepository('gone');
  // Upload sessions: one that staged bytes, one empty.
  await s.createUpload({ id: 'up-1', repository: 'team/app', algorithm: 'sha256' });
  await s.touchUpload('up-1', 4096);
  await s.createUpload({ id: 'up-2', repository: 'other', algorithm: 'sha512' });
  // The outbox: queued, retried, dead-lettered, delivered (gone).
  await s.appendEvents([ev('other', 2, ['h1']), ev('other', 3, ['h1']), ev('team/app', 4, ['h2'])]);
  const [head] = await s.dueDeliveries('h1', later(), 10);
  await s.markFailed('h1', head!.eventId, 'connection refused', later() + 5);
  const [dead] = await s.dueDeliveries('h2', later(), 10);
  await s.markFailed('h2', dead!.eventId, 'HTTP 410', null);
  await s.appendEvents([ev('team/app', 5, ['h3'])]);
  const [done] = await s.dueDeliveries('h3', later(), 10);
  await s.markDelivered('h3', done!.eventId);
  // A blob GC removed whose bytes are not confirmed deleted.
  await s.commitBlob('team/app', { digest: d(5), size: 5 });
  await s.unlinkBlob('team/app', d(5));
  assert.equal((await s.collectBlob(d(5), later(), 0, false)).outcome, 'deleted');
}

const withoutIds = (list: Delivery[]) => list.map(({ eventId: _id, ...rest }) => rest);

/** Everything the ports answer about the filled content, in a form deepEqual compares. */
async function describe(s: MetadataStore): Promise<Record<string, unknown>> {
  const repositories = await s.listRepositories({ limit: 1000 });
  const out: Record<string, unknown> = {
    repositories,
    stats: await s.stats(),
    usage: await s.listRepositoryUsage({ limit: 1000 }),
    blobs: await s.listBlobs({ limit: 1000 }),
    uploads: await s.listUploadsUpdatedBefore(later(), 100),
    uploadCount: await s.countUploads(),
    deliveryStats: await s.deliveryStats(),
    dead: withoutIds(await s.listDeadDeliveries(null, 100)),
    pending: await s.pendingBlobDeletions(100),
    gone: [await s.listTags('gone', { limit: 10 }), await s.repositoryUsage('gone'), await s.getManifest('gone', { tag: 't' })],
  };
  for (const endpoint of ['h1', 'h2', 'h3']) out[`due ${endpoint}`] = withoutIds(await s.dueDeliveries(endpoint, later() + 10, 100));
  for (const repository of [...repositories, 'gone']) {
    out[`uploads ${repository}`] = await s.uploadUsage(repository);
    out[`tags ${repository}`] = await s.listTagDetails(repository);
    out[`untagged ${repository}`] = await s.untaggedManifests(repository, later(), 100);
    out[`referrers ${repository}`] = [await s.listReferrers(repository, d(20)), await s.listReferrers(repository, d(20), REFERRER)];
    for (const tag of (await s.listTags(repository, { limit: 100 })) ?? []) {
      out[`${repository}:${tag}`] = (await s.getManifest(repository, { tag }))?.digest;
    }
    for (let n = 1; n <= 40; n++) {
      const m = await s.getManifest(repository, { digest: d(n) });
      if (m) out[`${repository}@${n}`] = { ...m, body: m.body.toString('hex') };
      const blob = await s.getRepositoryBlob(repository, d(n));
      if (blob) out[`${repository} blob ${n}`] = blob;
    }
  }
  for (let n = 1; n <= 5; n++) {
    out[`blob ${n}`] = await s.getBlob(d(n));
    out[`users ${n}`] = await s.manifestsReferencing(d(n));
    // What GC would decide (a dry run changes nothing): the same references keep the same content.
    out[`gc blob ${n}`] = await s.collectBlob(d(n), later(), 0, true);
  }
  for (const [repository, n] of [['team/app', 10], ['team/app', 11], ['team/app', 12], ['other', 20], ['other', 21], ['other', 22], ['other', 23]] as const) {
    out[`gc manifest ${repository}@${n}`] = await s.collectManifest({ repository, digest: d(n) }, later(), 0, true);
  }
  return out;
}

async function exportLines(s: MetadataStore): Promise<string[]> {
  const lines: string[] = [];
  await s.exportSnapshot((line: ExportLine) => {
    lines.push(JSON.stringify(line));
  });
  return lines;
}

async function isEmpty(s: MetadataStore): Promise<boolean> {
  return (await s.listRepositories({ limit: 1 })).length === 0 && (await s.listBlobs({ limit: 1 })).length === 0 && (await s.countUploads()) === 0;
}

export function exportContract(store: CurrentStore, create: () => Promise<StoreFixture>): void {
  /** A second, empty store of the same kind, closed after `fn`. */
  async function withFresh(fn: (fresh: MetadataStore) => Promise<void>): Promise<void> {
    const fx = await create();
    try {
      await fn(fx.store);
    } finally {
      await fx.cleanup();
    }
  }

  test('export: an import into an empty store answers every port query the same, and exports the same lines', async () => {
    const s = store();
    await fill(s);
    const lines = await exportLines(s);
    assert.deepEqual(JSON.parse(lines[0]!), { format: 'wharf-metadata', version: 1, createdAt: JSON.parse(lines[0]!).createdAt, source: s.name });
    assert.equal(JSON.parse(lines.at(-1)!).type, 'end');
    const expected = await describe(s);
    await withFresh(async (fresh) => {
      const counts = await fresh.importSnapshot(lines);
      assert.deepEqual(counts, { repository: 2, blob: 4, link: 4, manifest: 7, tag: 3, upload: 2, event: 4, 'pending-deletion': 1 });
      assert.deepEqual(await describe(fresh), expected);
      assert.deepEqual((await exportLines(fresh)).slice(1), lines.slice(1), 'the imported store exports the same records');
      // Derived state was rebuilt: every blob and manifest is due for one GC review, and the store takes pushes.
      assert.deepEqual(await fresh.dueBlobReviews(later(), '', 100), [d(1), d(2), d(3), d(4)]);
      assert.equal((await fresh.dueManifestReviews(later(), null, 100)).length, 7);
      await fresh.commitBlob('team/app', { digest: d(6), size: 6 });
      assert.deepEqual(await fresh.putManifest(manifest('team/app', d(13), { blobs: [d(6)], tags: ['v2'] })), { ok: true });
      assert.equal((await fresh.repositoryUsage('team/app'))?.bytes, 100 + 2000 + 30 + 6);
    });
  });

  test('export: one instant, while the store keeps serving writes', async () => {
    const s = store();
    await fill(s);
    const before = await exportLines(s);
    const lines: string[] = [];
    let wrote = false;
    await s.exportSnapshot(async (line) => {
      lines.push(JSON.stringify(line));
      if (wrote) return;
      wrote = true; // after the header: the snapshot has begun
      await s.commitBlob('late', { digest: d(7), size: 7 });
      await s.putManifest(manifest('late', d(70), { blobs: [d(7)], tags: ['t'] }));
      await s.deleteTag('team/app', 'v1');
      await s.appendEvents([ev('late', 9, ['h1'])]);
    });
    assert.deepEqual(lines.slice(1), before.slice(1), 'nothing written after the export began is in it');
    assert.equal((await s.getManifest('late', { tag: 't' }))?.digest, d(70), 'the writes were served meanwhile');
  });

  test('export: an empty store exports a header and an end, and imports as empty', async () => {
    const lines = await exportLines(store());
    assert.equal(lines.length, 2);
    await withFresh(async (fresh) => {
      await fresh.importSnapshot(lines);
      assert.ok(await isEmpty(fresh));
    });
  });

  test('export: truncated, corrupt or foreign input is refused naming the line, and nothing is imported', async () => {
    const s = store();
    await fill(s);
    const lines = await exportLines(s);
    const manifestLine = lines.findIndex((l) => JSON.parse(l).type === 'manifest');
    const tagLine = lines.findIndex((l) => JSON.parse(l).type === 'tag');
    const edit = (at: number, change: (r: Record<string, unknown>) => void) =>
      lines.map((l, i) => {
        if (i !== at) return l;
        const r = JSON.parse(l) as Record<string, unknown>;
        change(r);
        return JSON.stringify(r);
      });
    const cases: [string, string[], RegExp][] = [
      ['cut before its end', lines.slice(0, -1), /truncated: it stops after line \d+ without its end record/],
      ['cut mid-way', lines.slice(0, tagLine), /truncated/],
      ['a line cut in half', [...lines.slice(0, tagLine), lines[tagLine]!.slice(0, 20)], new RegExp(`line ${tagLine + 1} .*not JSON`)],
      ['an end that counts differently', [...lines.slice(0, manifestLine), ...lines.slice(manifestLine + 1)], /end record .* counts 7 manifest records where 6 were read/],
      ['a bad digest', edit(manifestLine, (r) => (r.digest = 'sha256:../../x')), new RegExp(`line ${manifestLine + 1} .*not a valid record.*digest`)],
      ['an unknown field', edit(manifestLine, (r) => (r.extra = 1)), new RegExp(`line ${manifestLine + 1} .*not a valid record`)],
      ['a tag of an unknown manifest', edit(tagLine, (r) => (r.digest = d(999))), new RegExp(`line ${tagLine + 1} .*tag .* not among`)],
      ['sections out of order', [lines[0]!, ...lines.slice(1, -1).reverse(), lines.at(-1)!], /line 2 .*after the .* section|line 3 .*after the/],
      ['a duplicate record', [...lines.slice(0, 2), lines[1]!, ...lines.slice(2)], /line 3 .*already there|counts/],
      ['no header', lines.slice(1), /not a Wharf metadata export/],
      ['a newer version', edit(0, (r) => (r.version = 99)), /version 99; this Wharf reads version 1/],
      ['a line after the end', [...lines, lines[1]!], /after its end record/],
      ['nothing at all', [], /empty/],
    ];
    await withFresh(async (fresh) => {
      for (const [what, input, message] of cases) {
        await assert.rejects(fresh.importSnapshot(input), (err: unknown) => {
          assert.ok(err instanceof ExportFormatError, `${what}: ${String(err)}`);
          assert.match(err.message, message, what);
          return true;
        });
        assert.ok(await isEmpty(fresh), `${what}: the store is left empty`);
        assert.deepEqual(await fresh.deliveryStats(), [], what);
        assert.deepEqual(await fresh.pendingBlobDeletions(10), [], what);
      }
      await fresh.importSnapshot(lines); // still importable after all those refusals
      assert.equal((await fresh.stats()).manifests, 7);
    });
  });

  test('export: an import into a store that holds anything is refused, and changes nothing', async () => {
    const s = store();
    await fill(s);
    const lines = await exportLines(s);
    const holdings: [string, (t: MetadataStore) => Promise<unknown>][] = [
      ['a blob', (t) => t.commitBlob('x', { digest: d(50), size: 1 })],
      ['an upload session', (t) => t.createUpload({ id: 'u', repository: 'x', algorithm: 'sha256' })],
      ['an outbox event', (t) => t.appendEvents([ev('x', 1)])],
    ];
    for (const [what, hold] of holdings) {
      await withFresh(async (fresh) => {
        await hold(fresh);
        const before = await exportLines(fresh);
        await assert.rejects(fresh.importSnapshot(lines), (err: unknown) => err instanceof StoreNotEmptyError, what);
        assert.deepEqual((await exportLines(fresh)).slice(1), before.slice(1), `${what}: unchanged`);
      });
    }
    await assert.rejects(s.importSnapshot(lines), StoreNotEmptyError);
  });
}
