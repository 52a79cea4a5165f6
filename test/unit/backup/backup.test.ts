import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { runBackup, type BackupOptions } from '../../../src/backup/backup.js';
import { BackupError, backupBlobPath, listSnapshots, readLatest, readSnapshotManifest } from '../../../src/backup/layout.js';
import { restoreMarker, runRestore } from '../../../src/backup/restore.js';
import { resolvePaths, validateConfig } from '../../../src/config/load.js';
import type { Config } from '../../../src/config/schema.js';
import type { ExportSink } from '../../../src/metadata/export-format.js';
import type { Registry } from '../../../src/registry/registry.js';
import { blobFile, configFor, open, pushBlob, pushImage, pushIndex, sha256, tempDir, view, type Image } from './support.js';

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

describe('backup and restore', () => {
  let root: string;
  let dataDir: string;
  let dest: string;
  let reg: Registry;
  let config: Config;
  const cleanups: (() => Promise<void>)[] = [];

  beforeEach(async () => {
    root = await tempDir('backup-unit');
    dataDir = join(root, 'data');
    dest = join(root, 'backup');
    ({ reg, config } = open(dataDir));
  });
  afterEach(async () => {
    for (const c of cleanups.splice(0)) await c();
    await reg.close();
    await rm(root, { recursive: true, force: true });
  });

  const backup = (extra: Partial<BackupOptions> = {}) => runBackup({ dest, metadata: reg.metadata, driver: reg.driver, ...extra });
  const exportNow = (sink: ExportSink) => reg.metadata.exportSnapshot(sink);

  async function restoreInto(name: string, snapshot?: string) {
    const target = join(root, name);
    const summary = await runRestore({ source: dest, snapshot, config: configFor(target) });
    const entries = (await readdir(target)).sort();
    const restored = open(target).reg;
    cleanups.push(() => restored.close());
    return { target, summary, restored, entries };
  }

  async function content(): Promise<{ images: Image[]; refs: { repo: string; digest: string }[] }> {
    const shared = randomBytes(5000);
    const a = await pushImage(reg, 'team/app', 'v1', [shared, randomBytes(3000)]);
    const b = await pushImage(reg, 'team/app', 'v2', [shared]);
    const untagged = await pushImage(reg, 'team/app', null);
    const amd = await pushImage(reg, 'multi', null);
    const arm = await pushImage(reg, 'multi', null);
    const index = await pushIndex(reg, 'multi', 'latest', [amd, arm]);
    await reg.manifests.push('multi', { digest: amd.digest }, (await reg.metadata.getManifest('multi', { digest: amd.digest }))!.body, undefined, ['amd64']);
    const tool = await pushImage(reg, 'deep/nested/tool', 'stable', [shared]);
    const refs = [
      ...[a, b, untagged].map((i) => ({ repo: 'team/app', digest: i.digest })),
      ...[amd, arm].map((i) => ({ repo: 'multi', digest: i.digest })),
      { repo: 'multi', digest: index },
      { repo: 'deep/nested/tool', digest: tool.digest },
    ];
    return { images: [a, b, untagged, amd, arm, tool], refs };
  }

  test('a backup restores into an empty data dir: same catalog, tags, manifests, links and blob bytes', async () => {
    const { refs } = await content();
    await reg.metadata.createUpload({ id: 'in-flight', repository: 'team/app', algorithm: 'sha256' });
    await reg.metadata.touchUpload('in-flight', 1234);
    const summary = await backup();
    assert.equal(summary.repositories, 3);
    assert.equal(summary.tags, 5);
    assert.equal(summary.copied, summary.blobs);
    assert.equal(summary.skipped, 0);
    assert.equal(await readLatest(dest), summary.snapshot);
    const manifest = await readSnapshotManifest(summary.path);
    assert.equal(manifest.blobs.length, summary.blobs);
    for (const b of manifest.blobs) assert.equal(sha256(await readFile(backupBlobPath(dest, b.digest))), b.digest);

    const { summary: restoredSummary, restored, entries } = await restoreInto('restored');
    assert.equal(restoredSummary.snapshot, summary.snapshot);
    assert.equal(restoredSummary.restored, summary.blobs);
    assert.deepEqual(await view(restored, refs), await view(reg, refs));
    assert.deepEqual(entries, ['storage', 'wharf.db'], 'the data dir holds the database and storage, no marker or temp file');
    assert.equal(await restored.metadata.countUploads(), 0, 'an upload session open at backup time is not restored: its bytes are not in the backup');
    assert.deepEqual(await restored.metadata.uploadUsage('team/app'), { sessions: 0, bytes: 0 });
    // The restored registry accepts pushes.
    await pushImage(restored, 'team/app', 'v3');
  });

  test('a second backup copies nothing; a third copies only what was pushed in between', async () => {
    await content();
    const first = await backup();
    const second = await backup();
    assert.notEqual(second.snapshot, first.snapshot);
    assert.equal(second.copied, 0, 'nothing changed: the second backup must not copy any blob');
    assert.equal(second.skipped, first.blobs);
    const added = await pushImage(reg, 'team/app', 'v9', [randomBytes(7000), randomBytes(100)]);
    const third = await backup();
    assert.equal(third.copied, 3, 'config and two layers are new');
    assert.equal(third.copiedBytes, 7100 + (await reg.metadata.getBlob(added.config))!.size);
    assert.deepEqual(await listSnapshots(dest), [first.snapshot, second.snapshot, third.snapshot]);
    assert.equal(await readLatest(dest), third.snapshot);
  });

  test('restore --snapshot picks an older snapshot; the image pushed after it is absent', async () => {
    const before = await pushImage(reg, 'app', 'old');
    const first = await backup();
    const later = await pushImage(reg, 'app', 'new', [randomBytes(4000)]);
    await backup();
    const { restored } = await restoreInto('older', first.snapshot);
    assert.equal((await restored.metadata.getManifest('app', { tag: 'old' }))?.digest, before.digest);
    assert.equal(await restored.metadata.getManifest('app', { tag: 'new' }), null);
    assert.equal(await restored.metadata.getBlob(later.layers[0]!), null);
    assert.ok(!(await exists(blobFile(join(root, 'older'), later.layers[0]!))), 'blobs of later snapshots are not restored');
  });

  test('restore refuses a data dir that is not empty, and leaves it alone', async () => {
    await content();
    await backup();
    const target = join(root, 'busy');
    await mkdir(target, { recursive: true });
    await writeFile(join(target, 'wharf.db'), 'precious');
    await assert.rejects(runRestore({ source: dest, config: configFor(target) }), (err: unknown) => {
      assert.ok(err instanceof BackupError);
      assert.match(err.message, /not empty/);
      assert.match(err.message, /wharf\.db/);
      return true;
    });
    assert.deepEqual(await readdir(target), ['wharf.db']);
    assert.equal(await readFile(join(target, 'wharf.db'), 'utf8'), 'precious');
    // An existing registry is refused too.
    await assert.rejects(runRestore({ source: dest, config }), /not empty/);
    // So is a metadata store outside the (empty) data dir that already exists.
    const elsewhere = join(root, 'elsewhere.db');
    await writeFile(elsewhere, '');
    const outside = resolvePaths(validateConfig({ storage: { dataDir: join(root, 'empty') }, metadata: { sqlite: { path: elsewhere } }, log: { level: 'silent' } }, 'test'));
    await assert.rejects(runRestore({ source: dest, config: outside }), (err: unknown) => {
      assert.match(String(err), new RegExp(`not empty[^]*the metadata store ${elsewhere} exists`));
      return true;
    });
  });

  test('a corrupted blob in storage fails the backup loudly and publishes no snapshot', async () => {
    const good = await pushImage(reg, 'app', 'good');
    await backup();
    const bad = await pushImage(reg, 'app', 'bad', [randomBytes(4000)]);
    const file = blobFile(dataDir, bad.layers[0]!);
    const bytes = await readFile(file);
    bytes[100] = bytes[100]! ^ 0xff;
    await writeFile(file, bytes);
    const snapshotsBefore = await listSnapshots(dest);
    const latestBefore = await readLatest(dest);
    await assert.rejects(backup(), (err: unknown) => {
      assert.ok(err instanceof BackupError, String(err));
      assert.match(err.message, /corrupt/);
      assert.ok(err.message.includes(bad.layers[0]!), 'the message names the corrupt blob');
      assert.ok(err.message.includes(`app@${bad.digest}`), 'the message names the manifest it breaks');
      return true;
    });
    assert.deepEqual(await listSnapshots(dest), snapshotsBefore);
    assert.equal(await readLatest(dest), latestBefore);
    assert.ok(!(await exists(backupBlobPath(dest, bad.layers[0]!))), 'corrupt bytes must not land in the backup');
    assert.deepEqual((await readdir(join(dest, 'snapshots'))).filter((e) => e.startsWith('.')), [], 'no partial snapshot left behind');
    assert.ok(await exists(backupBlobPath(dest, good.layers[0]!)));
  });

  test('a blob recorded but missing from storage fails the backup', async () => {
    const img = await pushImage(reg, 'app', 'v1');
    await rm(blobFile(dataDir, img.layers[0]!));
    await assert.rejects(backup(), (err: unknown) => {
      assert.ok(err instanceof BackupError);
      assert.match(err.message, /missing from storage/);
      assert.ok(err.message.includes(img.layers[0]!));
      return true;
    });
    assert.deepEqual(await listSnapshots(dest), []);
    assert.equal(await readLatest(dest), null);
  });

  test('garbage collected between snapshot and copy: the snapshot is retaken rather than left unrestorable', async () => {
    const keep = await pushImage(reg, 'app', 'keep');
    const doomed = await pushImage(reg, 'app', 'doomed', [randomBytes(3000)]);
    let snapshots = 0;
    const notices: string[] = [];
    const summary = await backup({
      exportMetadata: async (sink) => {
        await exportNow(sink);
        if (++snapshots === 1) {
          // After the first snapshot recorded it, the image is deleted and collected.
          await reg.manifests.delete('app', { digest: doomed.digest });
          const gc = await reg.gc.run({ deleteUntagged: true, dryRun: false, gracePeriod: 0, trigger: 'cli' });
          assert.ok(gc.blobsDeleted >= 2, `gc deleted ${gc.blobsDeleted} blobs`);
        }
      },
      onNotice: (m) => notices.push(m),
    });
    assert.equal(summary.attempts, 2);
    assert.equal(notices.length, 1);
    assert.match(notices[0]!, /garbage-collected/);
    const manifest = await readSnapshotManifest(summary.path);
    assert.ok(!manifest.blobs.some((b) => b.digest === doomed.layers[0]), 'the retaken snapshot no longer references the collected blob');
    assert.ok(manifest.blobs.some((b) => b.digest === keep.layers[0]));
    assert.equal(summary.copied, manifest.blobs.length, 'blobs copied by the abandoned attempt count as copied by this run');
    assert.equal(summary.skipped, 0);
    const { restored } = await restoreInto('after-gc');
    assert.equal((await restored.metadata.getManifest('app', { tag: 'keep' }))?.digest, keep.digest);
    assert.equal(await restored.metadata.getManifest('app', { tag: 'doomed' }), null);
  });

  test('when GC takes a snapshot-referenced blob on every attempt, the backup gives up loudly after maxAttempts', async () => {
    await pushImage(reg, 'app', 'keep');
    let attempts = 0;
    await assert.rejects(
      backup({
        maxAttempts: 2,
        exportMetadata: async (sink) => {
          attempts++;
          const doomed = await pushImage(reg, 'app', `doomed${attempts}`);
          await exportNow(sink);
          await reg.manifests.delete('app', { digest: doomed.digest });
          await reg.gc.run({ deleteUntagged: true, dryRun: false, gracePeriod: 0, trigger: 'cli' });
        },
      }),
      /garbage collection kept deleting blobs the metadata snapshot references \(2 attempts\)/,
    );
    assert.equal(attempts, 2);
    assert.deepEqual(await listSnapshots(dest), []);
    assert.deepEqual((await readdir(join(dest, 'snapshots'))).length, 0, 'no partial snapshot left');
  });

  test('an unreferenced blob collected between snapshot and copy is dropped from the snapshot, no retake needed', async () => {
    const img = await pushImage(reg, 'app', 'v1');
    const loose = await pushBlob(reg, 'app', randomBytes(2500)); // uploaded, never used by a manifest
    const notices: string[] = [];
    const summary = await backup({
      exportMetadata: async (sink) => {
        await exportNow(sink);
        const gc = await reg.gc.run({ deleteUntagged: false, dryRun: false, gracePeriod: 0, trigger: 'cli' });
        assert.equal(gc.blobsDeleted, 1, 'GC takes the loose blob after the snapshot recorded it');
      },
      onNotice: (m) => notices.push(m),
    });
    assert.equal(summary.attempts, 1);
    assert.match(notices.join('\n'), /1 unreferenced blob\(s\) were garbage-collected during the backup/);
    const manifest = await readSnapshotManifest(summary.path);
    assert.ok(!manifest.blobs.some((b) => b.digest === loose.digest));
    assert.equal(manifest.counts.blobs, 2);
    const { restored } = await restoreInto('dropped');
    assert.equal(await restored.metadata.getBlob(loose.digest), null, 'the restored registry does not claim the collected blob');
    assert.equal((await restored.metadata.getManifest('app', { tag: 'v1' }))?.digest, img.digest);
  });

  test('--keep prunes older snapshots and the blobs only they needed', async () => {
    const first = await pushImage(reg, 'app', 'v1', [randomBytes(1000)]);
    const s1 = await backup({ keep: 2 });
    await reg.manifests.delete('app', { digest: first.digest });
    await reg.gc.run({ deleteUntagged: true, dryRun: false, gracePeriod: 0, trigger: 'cli' });
    const second = await pushImage(reg, 'app', 'v2', [randomBytes(1000)]);
    const s2 = await backup({ keep: 2 });
    assert.deepEqual(s2.pruned, { snapshots: [], blobs: 0, bytes: 0 });
    assert.ok(await exists(backupBlobPath(dest, first.layers[0]!)), 'still needed by the first snapshot');
    const s3 = await backup({ keep: 1 });
    assert.deepEqual(s3.pruned?.snapshots, [s1.snapshot, s2.snapshot]);
    assert.equal(s3.pruned?.blobs, 2, 'the first image config and layer');
    assert.deepEqual(await listSnapshots(dest), [s3.snapshot]);
    assert.ok(!(await exists(backupBlobPath(dest, first.layers[0]!))));
    assert.ok(await exists(backupBlobPath(dest, second.layers[0]!)));
    const { restored } = await restoreInto('pruned');
    assert.equal((await restored.metadata.getManifest('app', { tag: 'v2' }))?.digest, second.digest);
  });

  test('a corrupt blob in the backup fails the restore; once repaired, the restore resumes where it stopped', async () => {
    const img = await pushImage(reg, 'app', 'v1', [randomBytes(3000), randomBytes(3000)]);
    const s = await backup();
    const path = backupBlobPath(dest, img.layers[1]!);
    const good = await readFile(path);
    await writeFile(path, Buffer.concat([good.subarray(0, 10), Buffer.from('garbage')]));
    const target = join(root, 'resumed');
    await assert.rejects(runRestore({ source: dest, config: configFor(target) }), (err: unknown) => {
      assert.ok(err instanceof BackupError);
      assert.match(err.message, /corrupt/);
      assert.ok(err.message.includes(img.layers[1]!));
      return true;
    });
    assert.ok(await exists(join(target, restoreMarker)));
    assert.ok(!(await exists(join(target, 'wharf.db'))), 'no metadata until every blob is in');
    assert.ok(!(await exists(blobFile(target, img.layers[1]!))), 'the corrupt blob is not committed');
    // Another snapshot cannot be restored over the half-done one.
    await assert.rejects(runRestore({ source: dest, snapshot: `${s.snapshot}-9`, config: configFor(target) }), /no snapshot/);
    await writeFile(path, good);
    const summary = await runRestore({ source: dest, config: configFor(target) });
    assert.equal(summary.resumed, s.blobs - 1);
    assert.equal(summary.restored, 1);
    const restored = open(target).reg;
    cleanups.push(() => restored.close());
    assert.deepEqual(await view(restored, [{ repo: 'app', digest: img.digest }]), await view(reg, [{ repo: 'app', digest: img.digest }]));
  });

  test('a snapshot of format 1 (a copy of the SQLite database, before the logical export) still restores', async () => {
    const { refs } = await content();
    const current = await backup(); // puts the blobs in DEST
    const name = '20200101T000000Z';
    const dir = join(dest, 'snapshots', name);
    await mkdir(dir);
    // What an older Wharf wrote: metadata.db, a copy of the database at its schema (5: before deliveries_by_event
    // and gc_totals, which the restore's migrations then add).
    const live = new Database(join(dataDir, 'wharf.db'), { readonly: true });
    await live.backup(join(dir, 'metadata.db'));
    live.close();
    const old = new Database(join(dir, 'metadata.db'));
    old.exec('DROP TABLE job_leases; ALTER TABLE deliveries DROP COLUMN claimed_by; ALTER TABLE deliveries DROP COLUMN claimed_until');
    old.exec('DROP INDEX deliveries_by_event; DROP TABLE gc_totals');
    old.pragma('user_version = 5');
    old.close();
    const bytes = await readFile(join(dir, 'metadata.db'));
    const m = await readSnapshotManifest(current.path);
    const metadata = { file: 'metadata.db', driver: 'sqlite', size: bytes.length, sha256: sha256(bytes), schemaVersion: 5 };
    await writeFile(join(dir, 'manifest.json'), JSON.stringify({ ...m, format: 1, name, metadata }));
    const { restored, entries, summary } = await restoreInto('legacy', name);
    assert.equal(summary.tags, 5);
    assert.deepEqual(await view(restored, refs), await view(reg, refs));
    assert.deepEqual(entries, ['storage', 'wharf.db'], 'no scratch copy of the old database is left behind');
  });

  test('a damaged metadata export fails the restore before any blob is copied, naming the damage', async () => {
    const img = await pushImage(reg, 'app', 'v1');
    const s = await backup();
    const file = join(s.path, 'metadata.jsonl.gz');
    const good = await readFile(file);
    await writeFile(file, good.subarray(0, good.length - 20));
    const cut = join(root, 'cut');
    await assert.rejects(runRestore({ source: dest, config: configFor(cut) }), /snapshot \S+ is damaged: metadata\.jsonl\.gz (does not match the checksum|is not a whole gzip)/);
    assert.ok(!(await exists(blobFile(cut, img.layers[0]!))), 'no blob copied for a snapshot whose metadata is damaged');
    assert.ok(!(await exists(join(cut, 'wharf.db'))));
    assert.deepEqual(await readdir(cut), [], 'the target is left as it was: free for another snapshot');

    // A whole gzip file of an export cut short, with a checksum to match: the export's end record is missing.
    const lines = gunzipSync(good).toString().split('\n');
    const shortened = gzipSync(`${lines.slice(0, lines.length - 3).join('\n')}\n`);
    await writeFile(file, shortened);
    const m = await readSnapshotManifest(s.path);
    await writeFile(join(s.path, 'manifest.json'), JSON.stringify({ ...m, metadata: { ...m.metadata, size: shortened.length, sha256: sha256(shortened) } }));
    await assert.rejects(runRestore({ source: dest, config: configFor(join(root, 'short')) }), /is damaged: metadata\.jsonl\.gz: the metadata export is truncated/);
  });

  test('snapshot names keep their order when the clock goes back, so --keep never prunes the new one', async () => {
    await pushImage(reg, 'app', 'v1');
    const first = await backup({ now: () => new Date('2030-05-01T12:00:00Z') });
    assert.equal(first.snapshot, '20300501T120000Z');
    const same = await backup({ now: () => new Date('2030-05-01T12:00:00.500Z') });
    assert.equal(same.snapshot, '20300501T120000Z-1');
    const earlier = await backup({ now: () => new Date('2030-04-30T08:00:00Z'), keep: 1 });
    assert.equal(earlier.snapshot, '20300501T120000Z-2');
    assert.deepEqual(await listSnapshots(dest), [earlier.snapshot]);
    assert.equal(await readLatest(dest), earlier.snapshot);
  });

  test('two backups into one directory at once: the second is refused', async () => {
    await content();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const first = backup({
      exportMetadata: async (sink) => {
        await gate;
        await exportNow(sink);
      },
    });
    await new Promise((r) => setTimeout(r, 50));
    await assert.rejects(backup(), /another backup to this directory is running/);
    release();
    await first;
    await backup(); // the lock is released
  });
});
