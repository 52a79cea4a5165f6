import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { runFsck, type FsckReport } from '../../../src/fsck/fsck.js';
import type { FsckProblem, FsckProgress } from '../../../src/fsck/types.js';
import { parseDigest } from '../../../src/oci/digest.js';
import { blobKey } from '../../../src/storage/paths.js';
import { digestOf, FakeClock, fixture, type Fixture } from './support.js';

/** The fields a test pins down, in a stable order. */
function summarize(report: FsckReport) {
  return report.problems
    .map((p: FsckProblem) => ({
      kind: p.kind,
      digest: p.digest,
      size: p.size,
      recorded: p.recorded,
      ...(p.key && !p.digest ? { key: p.key } : {}),
      ...(p.storedSize !== undefined ? { storedSize: p.storedSize } : {}),
      ...(p.actualDigest ? { actualDigest: p.actualDigest } : {}),
      manifests: [...p.manifests].sort(),
      ...(p.repair ? { repair: p.repair.action } : {}),
    }))
    .sort((a, b) => `${a.kind} ${a.digest ?? a.key}`.localeCompare(`${b.kind} ${b.digest ?? b.key}`));
}

const blobKeyOf = (digest: string) => blobKey(parseDigest(digest)!);

const byKindAndDigest = <T extends { kind: string; digest: string | null; key?: string }>(list: T[]) =>
  list.sort((a, b) => `${a.kind} ${a.digest ?? a.key}`.localeCompare(`${b.kind} ${b.digest ?? b.key}`));

describe('wharf fsck', () => {
  let f: Fixture;
  beforeEach(async () => {
    f = await fixture();
  });
  afterEach(async () => {
    await f.close();
  });

  test('a healthy registry is clean: every blob read and hashed, every manifest checked', async () => {
    const a = await f.image('app', 'v1', [randomBytes(2000), randomBytes(3000)]);
    await f.image('app', 'v2');
    await f.index('app', 'multi', [{ digest: a.digest, size: a.size }]);
    const progress: FsckProgress[] = [];
    const report = await runFsck(f.reg, { onProgress: (p) => progress.push(p) });
    assert.deepEqual(report.problems, []);
    const stats = await f.reg.metadata.stats();
    assert.equal(report.blobs, 5);
    assert.equal(report.bytes, stats.blobBytes, 'every recorded byte was read');
    assert.equal(report.files, 5);
    assert.equal(report.manifests, 3);
    assert.deepEqual(report.counts, { corrupt: 0, missing: 0, orphan: 0, 'size-mismatch': 0 });
    const last = progress[progress.length - 1]!;
    assert.equal(last.blobs, 5);
    assert.equal(last.blobsTotal, 5);
    assert.equal(last.bytesTotal, stats.blobBytes);
    assert.equal(last.bytesDone, stats.blobBytes);
    assert.deepEqual([...new Set(progress.map((p) => p.phase))], ['blobs', 'storage', 'references']);
  });

  test('reports corrupt, truncated, missing and orphaned blobs, with the manifests each breaks', async () => {
    const a = await f.image('app', 'v1'); // layer corrupted
    const shared = randomBytes(500);
    const b = await f.image('app', 'v2', [shared]); // layer truncated (shared with other), config deleted
    const d = await f.image('other', 'latest', [shared]);
    const fine = await f.image('fine', 'v1');
    const layerA = a.layers[0]!;
    const layerB = b.layers[0]!;
    const bad = await f.corrupt(layerA);
    await f.truncateTo(layerB, 123);
    await f.remove(b.config);
    const orphan = randomBytes(64);
    await f.put(`blobs/sha256/${digestOf(orphan).slice(7, 9)}/${digestOf(orphan).slice(7)}`, orphan);
    await f.put('blobs/sha256/zz/not-a-digest', Buffer.from('junk'));

    const streamed: FsckProblem[] = [];
    const report = await runFsck(f.reg, { onProblem: (p) => streamed.push(p) });
    assert.deepEqual(summarize(report), [
      {
        kind: 'corrupt',
        digest: layerA,
        size: 300,
        recorded: true,
        actualDigest: digestOf(bad),
        manifests: [`app@${a.digest}`],
      },
      { kind: 'missing', digest: b.config, size: (await f.reg.metadata.getBlob(b.config))!.size, recorded: true, manifests: [`app@${b.digest}`] },
      { kind: 'orphan', digest: null, size: 4, recorded: false, key: 'blobs/sha256/zz/not-a-digest', manifests: [] },
      { kind: 'orphan', digest: digestOf(orphan), size: 64, recorded: false, manifests: [] },
      {
        kind: 'size-mismatch',
        digest: layerB,
        size: 500,
        recorded: true,
        storedSize: 123,
        actualDigest: digestOf(shared.subarray(0, 123)),
        manifests: [`app@${b.digest}`, `other@${d.digest}`].sort(),
      },
    ]);
    assert.deepEqual(report.counts, { corrupt: 1, missing: 1, orphan: 2, 'size-mismatch': 1 });
    assert.equal(report.blobs, 7); // 2 + 2 + 1 (the shared layer counts once) + 2
    assert.deepEqual(streamed, report.problems, 'each problem is streamed as it is found');
    for (const digest of [fine.config, ...fine.layers]) assert.ok(!report.problems.some((p) => p.digest === digest));
    // Nothing was changed without --repair.
    assert.deepEqual(await readFile(f.file(layerA)), bad);
    assert.ok(await f.reg.metadata.getBlob(b.config));
    assert.ok(await f.reg.metadata.getBlob(layerA));
  });

  test('--repair quarantines bad bytes, forgets missing ones, leaves orphans; a re-run reports what is left', async () => {
    const a = await f.image('app', 'v1');
    const shared = randomBytes(500);
    const b = await f.image('app', 'v2', [shared]);
    const d = await f.image('other', 'latest', [shared]);
    const layerA = a.layers[0]!;
    const layerB = b.layers[0]!;
    const bad = await f.corrupt(layerA);
    await f.truncateTo(layerB, 123);
    const configSize = (await f.reg.metadata.getBlob(b.config))!.size;
    await f.remove(b.config);
    const orphan = randomBytes(64);
    const orphanKey = `blobs/sha256/${digestOf(orphan).slice(7, 9)}/${digestOf(orphan).slice(7)}`;
    await f.put(orphanKey, orphan);

    const report = await runFsck(f.reg, { repair: true });
    const actions = Object.fromEntries(report.problems.map((p) => [p.digest, p.repair?.action]));
    assert.deepEqual(actions, {
      [layerA]: 'quarantined',
      [layerB]: 'quarantined',
      [b.config]: 'record-removed',
      [digestOf(orphan)]: 'left-alone',
    });

    // The bad bytes are kept in quarantine, and no longer under blobs/ nor in the metadata.
    const quarantined = async (digest: string) => {
      const { algorithm, hex } = parseDigest(digest)!;
      const dir = join(f.dir, 'storage', 'quarantine', algorithm);
      const names = (await readdir(dir)).filter((n) => n.startsWith(`${hex}-`));
      assert.equal(names.length, 1, `one quarantined copy of ${digest}`);
      assert.match(names[0]!, /^[a-f0-9]{64}-\d{8}T\d{9}Z$/);
      const key = report.problems.find((p) => p.digest === digest)!.repair!.quarantineKey;
      assert.equal(key, `quarantine/${algorithm}/${names[0]}`);
      return readFile(join(dir, names[0]!));
    };
    assert.deepEqual(await quarantined(layerA), bad);
    assert.deepEqual(await quarantined(layerB), shared.subarray(0, 123));
    for (const digest of [layerA, layerB, b.config]) {
      await assert.rejects(stat(f.file(digest)), { code: 'ENOENT' });
      assert.equal(await f.reg.metadata.getBlob(digest), null);
      assert.equal(await f.reg.metadata.getRepositoryBlob('app', digest), null, 'GET answers BLOB_UNKNOWN');
    }
    assert.deepEqual(await readFile(join(f.dir, 'storage', orphanKey)), orphan, 'orphans are left alone');
    // Nothing else was touched.
    assert.ok(await f.reg.metadata.getRepositoryBlob('app', a.config));
    assert.ok(await f.reg.metadata.getRepositoryBlob('other', d.config));

    // What is left: the manifests whose blobs are gone (until pushed again), and the orphan.
    const again = await runFsck(f.reg);
    assert.deepEqual(summarize(again), [
      { kind: 'missing', digest: layerA, size: 300, recorded: false, manifests: [`app@${a.digest}`] },
      { kind: 'missing', digest: layerB, size: 500, recorded: false, manifests: [`app@${b.digest}`, `other@${d.digest}`].sort() },
      { kind: 'missing', digest: b.config, size: configSize, recorded: false, manifests: [`app@${b.digest}`] },
      { kind: 'orphan', digest: digestOf(orphan), size: 64, recorded: false, manifests: [] },
    ].sort((x, y) => `${x.kind} ${x.digest}`.localeCompare(`${y.kind} ${y.digest}`)));
    // A second --repair has nothing it can do about those.
    const second = await runFsck(f.reg, { repair: true });
    assert.ok(second.problems.every((p) => p.repair?.action === 'left-alone'));

    // A client pushes the good bytes again: into app only, so other's manifest still cannot be served...
    await f.blob('app', shared);
    const afterPush = await runFsck(f.reg);
    const layerBProblem = afterPush.problems.find((p) => p.digest === layerB)!;
    assert.equal(layerBProblem.kind, 'missing');
    assert.equal(layerBProblem.recorded, true);
    assert.deepEqual(layerBProblem.manifests, [`other@${d.digest}`]);
    // ...which --repair fixes by linking the (now verified) blob where it is needed.
    const relinked = await runFsck(f.reg, { repair: true });
    assert.equal(relinked.problems.find((p) => p.digest === layerB)!.repair!.action, 'linked');
    const final = await runFsck(f.reg);
    assert.deepEqual(byKindAndDigest(final.problems.map((p) => ({ kind: p.kind, digest: p.digest }))), byKindAndDigest([
      { kind: 'missing', digest: layerA },
      { kind: 'missing', digest: b.config },
      { kind: 'orphan', digest: digestOf(orphan) },
    ]));
  });

  test('after repair and a re-push of the same blob, the registry serves it again and fsck is clean', async () => {
    const a = await f.image('app', 'v1');
    const layer = a.layers[0]!;
    const good = await readFile(f.file(layer));
    await f.corrupt(layer);
    assert.equal((await runFsck(f.reg, { repair: true })).counts.corrupt, 1);
    assert.equal(await f.reg.metadata.getRepositoryBlob('app', layer), null);
    await f.blob('app', good);
    assert.deepEqual(await readFile(f.file(layer)), good, 'the push wrote fresh bytes (the bad ones were deleted)');
    const clean = await runFsck(f.reg);
    assert.deepEqual(clean.problems, []);
  });

  test('sha512 blobs are verified with sha512', async () => {
    const data = randomBytes(1000);
    const { digest } = await f.blob('app', data, 'sha512');
    assert.deepEqual((await runFsck(f.reg)).problems, []);
    const bad = await f.corrupt(digest);
    const report = await runFsck(f.reg);
    assert.equal(report.problems.length, 1);
    assert.equal(report.problems[0]!.kind, 'corrupt');
    assert.equal(report.problems[0]!.actualDigest, digestOf(bad, 'sha512'));
  });

  test('an intact blob with a wrong recorded size: the record goes, the bytes stay', async () => {
    const data = randomBytes(200);
    const { digest } = await f.blob('app', data);
    // Another connection to the database, as a bug or a hand edit would leave it.
    const db = new Database(join(f.dir, 'wharf.db'));
    db.prepare('UPDATE blobs SET size = 999 WHERE digest = ?').run(digest);
    db.close();
    const report = await runFsck(f.reg, { repair: true });
    assert.equal(report.problems.length, 1);
    const p = report.problems[0]!;
    assert.equal(p.kind, 'size-mismatch');
    assert.equal(p.storedSize, 200);
    assert.equal(p.actualDigest, undefined, 'the bytes match the digest');
    assert.equal(p.repair!.action, 'record-removed');
    assert.deepEqual(await readFile(f.file(digest)), data);
    assert.equal(await f.reg.metadata.getBlob(digest), null);
  });

  test('an orphan whose bytes do not match its name is quarantined by --repair (a push would adopt it)', async () => {
    const claimed = randomBytes(80);
    const digest = digestOf(claimed);
    const bad = randomBytes(80);
    const key = `blobs/sha256/${digest.slice(7, 9)}/${digest.slice(7)}`;
    await f.put(key, bad);
    const found = await runFsck(f.reg);
    assert.deepEqual(summarize(found), [{ kind: 'orphan', digest, size: 80, recorded: false, actualDigest: digestOf(bad), manifests: [] }]);
    const repaired = await runFsck(f.reg, { repair: true });
    assert.equal(repaired.problems[0]!.repair!.action, 'quarantined');
    await assert.rejects(stat(join(f.dir, 'storage', key)), { code: 'ENOENT' });
    // Now a push of the real content stores the real bytes.
    await f.blob('r', claimed);
    assert.deepEqual(await readFile(join(f.dir, 'storage', key)), claimed);
    assert.deepEqual((await runFsck(f.reg)).problems, []);
  });

  test('repairs wait for the blob lease (held by uploads and GC) and skip a blob that stays busy', async () => {
    const a = await f.image('app', 'v1');
    const layer = a.layers[0]!;
    const bad = await f.corrupt(layer);
    assert.ok(await f.reg.metadata.acquireBlobLease(layer, 'someone-else', 60_000));
    const busy = await runFsck(f.reg, { repair: true, leaseWaitMs: 200 });
    assert.equal(busy.problems[0]!.repair!.action, 'skipped');
    assert.deepEqual(await readFile(f.file(layer)), bad, 'nothing done without the lease');
    assert.ok(await f.reg.metadata.getBlob(layer));
    // Released while fsck waits: the repair goes ahead.
    setTimeout(() => void f.reg.metadata.releaseBlobLease(layer, 'someone-else'), 150);
    const waited = await runFsck(f.reg, { repair: true, leaseWaitMs: 5000 });
    assert.equal(waited.problems[0]!.repair!.action, 'quarantined');
    // And fsck released its own lease: an upload can take it.
    assert.ok(await f.reg.metadata.acquireBlobLease(layer, 'after', 1000));
  });

  test('a blob whose record GC removes while fsck runs is not reported', async () => {
    await f.image('app', 'v1');
    const loose = await f.blob('app');
    // Simulate GC between fsck listing the record and reading the bytes: bytes gone, record gone.
    const original = f.reg.metadata.listBlobs.bind(f.reg.metadata);
    let raced = false;
    f.reg.metadata.listBlobs = async (page) => {
      const rows = await original(page);
      if (!raced && rows.some((r) => r.digest === loose.digest)) {
        raced = true;
        await f.reg.metadata.removeBlobRecord(loose.digest);
        await f.remove(loose.digest);
      }
      return rows;
    };
    const report = await runFsck(f.reg);
    assert.ok(raced);
    assert.deepEqual(report.problems, []);
  });

  test('unreadable bytes are reported (the run goes on) but not repaired: the storage error may pass', async () => {
    const a = await f.image('app', 'v1');
    const layer = a.layers[0]!;
    const key = blobKeyOf(layer);
    const driver = Object.create(f.reg.driver) as typeof f.reg.driver;
    driver.read = async (k, range) => {
      const stream = await f.reg.driver.read(k, range);
      if (k !== key) return stream;
      // Fails after the first chunk, as a bad sector or a dropped connection would.
      return Readable.from(
        (async function* () {
          for await (const chunk of stream) {
            yield chunk;
            throw Object.assign(new Error('EIO: i/o error, read'), { code: 'EIO' });
          }
        })(),
      );
    };
    const report = await runFsck({ driver, metadata: f.reg.metadata }, { repair: true });
    assert.deepEqual(summarize(report), [{ kind: 'corrupt', digest: layer, size: 300, recorded: true, manifests: [`app@${a.digest}`], repair: 'skipped' }]);
    assert.match(report.problems[0]!.detail, /cannot be read: EIO/);
    assert.equal(report.blobs, 2, 'the other blobs were checked too');
    assert.ok(await f.reg.metadata.getBlob(layer), 'nothing removed');
    assert.deepEqual((await runFsck(f.reg)).problems, [], 'the bytes were fine all along');
  });

  test('--rate paces the reads (virtual clock)', async () => {
    await f.blob('app', randomBytes(4000));
    await f.blob('app', randomBytes(6000));
    const clock = new FakeClock();
    const start = clock.now();
    const report = await runFsck(f.reg, { rate: 1000, clock });
    assert.equal(report.bytes, 10_000);
    assert.ok(Math.abs(clock.now() - start - 10_000) < 1, `10 000 bytes at 1000 B/s take 10 s, took ${clock.now() - start} ms`);
  });

  test('an aborted run stops at once with an error', async () => {
    await f.image('app', 'v1');
    const controller = new AbortController();
    controller.abort(new Error('stop'));
    await assert.rejects(runFsck(f.reg, { signal: controller.signal }), /stop/);
  });
});
