// `wharf backup` and `wharf restore` through the built CLI, against the data dir of a Wharf that keeps serving:
// exit codes, the JSON summaries, incremental copies, pruning, refusals, and a Wharf started on the restored dir
// that serves every image with the same digests. (The same under pushes and GC: test/stress/backup-under-load.)
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { wharfCli } from '../support/cli.js';
import { startWharf, tempDir } from '../support/processes.js';
import { pullImage, pushImage, type PushedImage } from '../support/push.js';

interface BackupJson {
  snapshot: string;
  repositories: number;
  tags: number;
  blobs: number;
  copied: number;
  skipped: number;
  pruned: { snapshots: string[] } | null;
}

interface RestoreJson {
  snapshot: string;
  tags: number;
  blobs: number;
  restored: number;
}

function json<T>(res: { code: number | null; stdout: string; stderr: string }): T {
  assert.equal(res.code, 0, res.stderr + res.stdout);
  return JSON.parse(res.stdout) as T;
}

test('wharf backup is incremental and prunes; wharf restore refuses a used dir and restores what was acknowledged', async (t) => {
  const work = await tempDir('backup-cli');
  const dest = join(work, 'backup');
  const source = await startWharf();
  t.after(async () => {
    await source.stop();
    await rm(work, { recursive: true, force: true });
  });
  const shared = randomBytes(8 * 1024);
  const images = new Map<string, PushedImage>();
  const push = async (repo: string, tag: string) => {
    const pushed = await pushImage(source.url, repo, tag, shared, { minLayer: 1024, extraLayer: 1024 });
    assert.ok(pushed, `${repo}:${tag} acknowledged`);
    images.set(`${repo}:${tag}`, pushed);
  };
  await push('team/app', 'v1');
  await push('team/tool', 'latest');

  const b1 = json<BackupJson>(await wharfCli(['backup', dest, '--data-dir', source.dataDir, '--json']));
  assert.deepEqual([b1.repositories, b1.tags, b1.blobs, b1.copied, b1.skipped], [2, 2, 5, 5, 0], 'two configs, two layers, one shared layer');
  // The snapshot's metadata is the store's logical export, not a copy of its database file.
  const snapshotDir = join(dest, 'snapshots', b1.snapshot);
  const manifest = JSON.parse(await readFile(join(snapshotDir, 'manifest.json'), 'utf8')) as { format: number; metadata: { file: string; format: string } };
  assert.deepEqual([manifest.format, manifest.metadata.file, manifest.metadata.format], [2, 'metadata.jsonl.gz', 'wharf-metadata']);
  const lines = gunzipSync(await readFile(join(snapshotDir, 'metadata.jsonl.gz'))).toString().trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.equal(lines[0]!.format, 'wharf-metadata');
  assert.deepEqual(lines.filter((l) => l.type === 'tag').map((l) => `${l.repository}:${l.name}`), ['team/app:v1', 'team/tool:latest']);
  assert.equal(lines.at(-1)!.type, 'end');

  await push('team/app', 'v2');
  const b2 = json<BackupJson>(await wharfCli(['backup', dest, '--data-dir', source.dataDir, '--json']));
  assert.notEqual(b2.snapshot, b1.snapshot);
  assert.deepEqual([b2.tags, b2.blobs, b2.copied, b2.skipped], [3, 7, 2, 5], 'only the new image is copied');

  const b3 = json<BackupJson>(await wharfCli(['backup', dest, '--data-dir', source.dataDir, '--json', '--keep', '2']));
  assert.equal(b3.copied, 0, 'nothing pushed since: nothing copied');
  assert.deepEqual(b3.pruned?.snapshots, [b1.snapshot]);

  const text = await wharfCli(['backup', dest, '--data-dir', source.dataDir]);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /^snapshot \S+: 2 repositories, 3 manifests, 3 tags, 7 blobs/m);

  const usage = await wharfCli(['backup', '--data-dir', source.dataDir]);
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /^usage: wharf backup DEST/);
  const keep = await wharfCli(['backup', dest, '--keep', '0', '--data-dir', source.dataDir]);
  assert.equal(keep.code, 2);
  assert.match(keep.stderr, /--keep/);
  const nowhere = await wharfCli(['backup', dest, '--data-dir', join(work, 'no-registry')]);
  assert.equal(nowhere.code, 1);
  assert.match(nowhere.stderr, /no registry at/);

  const usedDir = await wharfCli(['restore', dest, '--data-dir', source.dataDir]);
  assert.equal(usedDir.code, 1);
  assert.match(usedDir.stderr, /not empty/);
  const restoredDir = join(work, 'restored');
  const pruned = await wharfCli(['restore', dest, '--snapshot', b1.snapshot, '--data-dir', restoredDir]);
  assert.equal(pruned.code, 1, 'the first snapshot was pruned');
  assert.match(pruned.stderr, /no snapshot/);
  const restoreUsage = await wharfCli(['restore']);
  assert.equal(restoreUsage.code, 2);
  assert.match(restoreUsage.stderr, /^usage: wharf restore SRC/);

  const r = json<RestoreJson>(await wharfCli(['restore', dest, '--snapshot', b2.snapshot, '--data-dir', restoredDir, '--json']));
  assert.deepEqual([r.snapshot, r.tags, r.blobs, r.restored], [b2.snapshot, 3, 7, 7]);
  const restored = await startWharf({ dataDir: restoredDir });
  t.after(() => restored.stop());
  for (const [key, image] of images) {
    const [repo, tag] = key.split(':') as [string, string];
    const got = await pullImage(restored.url, repo, tag);
    assert.equal(got.digest, image.digest, `${key} restored with another digest`);
    assert.deepEqual(got.blobs, image.blobs);
  }
});
