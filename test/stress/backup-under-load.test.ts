// `wharf backup` as its own process while a Wharf process serves pushes (and online GC reclaims re-tagged
// images every 200 ms), then `wharf restore` into a new data dir and a Wharf started on it: every image
// acknowledged before the backup began must pull with the same digests, and everything the restored registry
// lists must pull intact (the snapshot is consistent, not a mix of instants).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { wharfCli } from '../support/cli.js';
import { startWharf, tempDir } from '../support/processes.js';
import { pullImage as pull, pushImage as push } from '../support/push.js';

const pushOptions = { minLayer: 2048, extraLayer: 96 * 1024 };

/** `wharf backup|restore ARGS` through the built CLI. */
const wharf = (command: 'backup' | 'restore', args: string[]) => wharfCli([command, ...args]);

interface Pushed {
  readonly repo: string;
  readonly tag: string;
  readonly digest: string;
  readonly blobs: readonly string[];
}

async function pushImage(url: string, repo: string, tag: string, shared: Buffer): Promise<Pushed | null> {
  const pushed = await push(url, repo, tag, shared, pushOptions);
  return pushed && { repo, tag, ...pushed };
}

interface BackupJson {
  snapshot: string;
  blobs: number;
  copied: number;
  skipped: number;
  attempts: number;
  tags: number;
}

test('backup while pushes and GC run, restore into a new dir, every image acknowledged before the backup pulls identically', async (t) => {
  const work = await tempDir('backup-process');
  const dest = join(work, 'backup');
  const restoredDir = join(work, 'restored');
  const source = await startWharf({ configYaml: 'gc:\n  enabled: true\n  interval: 200ms\n  gracePeriod: 1s\n  deleteUntagged: true\n' });
  t.after(async () => {
    await source.stop();
    await rm(work, { recursive: true, force: true });
  });

  const shared = randomBytes(64 * 1024);
  const stable: (Pushed & { at: number })[] = []; // unique tags, never moved
  const churn = new Map<string, Set<string>>(); // repo:tag -> every digest acknowledged for it (re-tagged: GC food)
  let stop = false;
  // Waits for the push loop's progress rather than for wall-clock time: as fast as the machine allows, never short.
  let waiting: { count: number; resolve: () => void } | null = null;
  const stablePushes = (count: number) => new Promise<void>((resolve) => (waiting = { count, resolve }));
  const worker = async (w: number) => {
    for (let n = 0; !stop; n++) {
      const p = await pushImage(source.url, `stable/w${w}`, `n${n}`, shared);
      if (p) stable.push({ ...p, at: Date.now() });
      if (waiting && stable.length >= waiting.count) waiting.resolve();
      const c = await pushImage(source.url, `churn/w${w}`, `t${n % 2}`, shared);
      if (c) churn.set(`${c.repo}:${c.tag}`, (churn.get(`${c.repo}:${c.tag}`) ?? new Set()).add(c.digest));
    }
  };
  const workers = [0, 1, 2].map(worker);
  // A push that throws ends its worker: fail then, instead of waiting for progress that never comes.
  const progress = (count: number) => Promise.race([stablePushes(count), Promise.all(workers).then(() => assert.fail('the push loop ended'))]);
  try {
    await progress(6);
    const first = await wharf('backup', [dest, '--data-dir', source.dataDir, '--json']);
    assert.equal(first.code, 0, first.stderr + first.stdout);
    const b1 = JSON.parse(first.stdout) as BackupJson;
    await progress(stable.length + 6);
    const began = Date.now();
    const before = stable.filter((p) => p.at < began);
    const churnBefore = [...churn.keys()];
    const second = await wharf('backup', [dest, '--data-dir', source.dataDir, '--json']);
    assert.equal(second.code, 0, second.stderr + second.stdout);
    const b2 = JSON.parse(second.stdout) as BackupJson;
    stop = true;
    await Promise.all(workers);
    const third = await wharf('backup', [dest, '--data-dir', source.dataDir, '--json']);
    assert.equal(third.code, 0, third.stderr + third.stdout);
    const b3 = JSON.parse(third.stdout) as BackupJson;
    const fourth = await wharf('backup', [dest, '--data-dir', source.dataDir, '--json', '--keep', '3']);
    assert.equal(fourth.code, 0, fourth.stderr + fourth.stdout);
    const b4 = JSON.parse(fourth.stdout) as BackupJson;
    t.diagnostic(
      `${before.length} stable images acknowledged before the second backup; backups: ` +
        [b1, b2, b3, b4].map((b) => `${b.blobs} blobs, ${b.copied} copied, ${b.skipped} skipped, ${b.attempts} attempt(s)`).join(' | '),
    );
    assert.ok(before.length >= 3, 'the push loop had pushed images before the backup began');
    assert.ok(b2.skipped > 0 && b2.copied < b2.blobs, 'the second backup is incremental');
    assert.equal(b4.copied, 0, 'nothing pushed since the third backup: the fourth copies no blob');

    // Restore the second snapshot, taken with pushes and GC in full swing.
    const refused = await wharf('restore', [dest, '--data-dir', source.dataDir]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /not empty/);
    const restore = await wharf('restore', [dest, '--snapshot', b1.snapshot, '--data-dir', restoredDir, '--json']);
    assert.equal(restore.code, 1, 'the first snapshot was pruned by --keep 3');
    assert.match(restore.stderr, /no snapshot/);
    const restore2 = await wharf('restore', [dest, '--snapshot', b2.snapshot, '--data-dir', restoredDir, '--json']);
    assert.equal(restore2.code, 0, restore2.stderr + restore2.stdout);
    const restored = await startWharf({ dataDir: restoredDir });
    t.after(() => restored.stop());

    for (const p of before) {
      const got = await pull(restored.url, p.repo, p.tag);
      assert.equal(got.digest, p.digest, `${p.repo}:${p.tag} restored with another digest`);
      assert.deepEqual(got.blobs, p.blobs);
    }
    for (const key of churnBefore) {
      const [repo, tag] = key.split(':') as [string, string];
      const got = await pull(restored.url, repo, tag);
      assert.ok(churn.get(key)!.has(got.digest), `${key} restored pointing at ${got.digest}, which was never acknowledged for it`);
    }
    // Everything the restored registry lists pulls intact: the snapshot is self-consistent.
    const catalog = (await (await fetch(`${restored.url}/v2/_catalog?n=1000`)).json()) as { repositories: string[] };
    let tags = 0;
    for (const repo of catalog.repositories) {
      const list = (await (await fetch(`${restored.url}/v2/${repo}/tags/list?n=10000`)).json()) as { tags: string[] | null };
      for (const tag of list.tags ?? []) {
        await pull(restored.url, repo, tag);
        tags++;
      }
    }
    assert.equal(tags, b2.tags, 'the restored registry serves the tags the snapshot recorded');
  } finally {
    stop = true;
    await Promise.all(workers);
  }
});
