// `wharf backup` and `wharf restore` with metadata.driver postgres, through the built CLI against a real PostgreSQL
// (scripts/with-services.sh starts one): a backup taken while the registry serves, restored into an empty
// database and an empty data dir, serves the same digests; and a SQLite registry's backup restored into
// PostgreSQL, which is how an existing registry moves to PostgreSQL.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { wharfCli } from '../support/cli.js';
import { startWharf, tempDir, type RunningRegistry } from '../support/processes.js';
import { pullImage, pushImage, type PushedImage } from '../support/push.js';
import { freshSchema, type FreshSchema } from './postgres-database.js';

const pgConfig = (db: FreshSchema) => `metadata:\n  driver: postgres\n  postgres:\n    url: "${db.url}"\n    poolSize: 4\ngc:\n  enabled: false\n`;

function ok(res: { code: number | null; stdout: string; stderr: string }): string {
  assert.equal(res.code, 0, res.stderr + res.stdout);
  return res.stdout;
}

async function pushSome(wharf: RunningRegistry, count: number, prefix = 't'): Promise<Map<string, PushedImage>> {
  const shared = randomBytes(4096);
  const images = new Map<string, PushedImage>();
  for (let i = 0; i < count; i++) {
    const ref = `team/app${i % 3}:${prefix}${i}`;
    const [repo, tag] = ref.split(':') as [string, string];
    const pushed = await pushImage(wharf.url, repo, tag, shared, { minLayer: 1024, extraLayer: 1024 });
    assert.ok(pushed, `${ref} acknowledged`);
    images.set(ref, pushed);
  }
  return images;
}

async function assertServes(wharf: RunningRegistry, images: Map<string, PushedImage>): Promise<void> {
  for (const [ref, image] of images) {
    const [repo, tag] = ref.split(':') as [string, string];
    const pulled = await pullImage(wharf.url, repo, tag);
    assert.equal(pulled.digest, image.digest, `${ref} has the same digest`);
    assert.deepEqual(pulled.blobs, image.blobs);
  }
}

test('wharf backup of a PostgreSQL registry while it serves, restored into an empty database and data dir, serves the same digests', async (t) => {
  const work = await tempDir('pg-backup');
  const source = await freshSchema();
  const target = await freshSchema();
  const sourceDir = join(work, 'source');
  const targetDir = join(work, 'target');
  const dest = join(work, 'backup');
  await mkdir(join(work, 'etc'), { recursive: true });
  const sourceConfig = join(work, 'etc', 'source.yaml');
  const targetConfig = join(work, 'etc', 'target.yaml');
  await writeFile(sourceConfig, pgConfig(source));
  await writeFile(targetConfig, pgConfig(target));
  let wharf = await startWharf({ dataDir: sourceDir, configYaml: pgConfig(source), keepData: true });
  t.after(async () => {
    await wharf.stop();
    await rm(work, { recursive: true, force: true });
    await source.drop();
    await target.drop();
  });
  const images = await pushSome(wharf, 9);
  // Pushes go on while the backup runs: the snapshot holds what was there when its export began, whole.
  const during = pushSome(wharf, 6, 'during');
  const backup = JSON.parse(ok(await wharfCli(['backup', dest, '--config', sourceConfig, '--data-dir', sourceDir, '--json']))) as {
    snapshot: string;
    tags: number;
    repositories: number;
  };
  await during;
  assert.ok(backup.tags >= 9, `the snapshot has at least the 9 tags pushed before it (${backup.tags})`);

  const refused = await wharfCli(['restore', dest, '--config', sourceConfig, '--data-dir', targetDir]);
  assert.equal(refused.code, 1, 'a database that holds a registry is never restored into');
  assert.match(refused.stderr, /not empty/);

  const restore = JSON.parse(ok(await wharfCli(['restore', dest, '--snapshot', backup.snapshot, '--config', targetConfig, '--data-dir', targetDir, '--json']))) as {
    tags: number;
  };
  assert.equal(restore.tags, backup.tags);
  const [{ n }] = await target.query<{ n: number }>('SELECT count(*)::int AS n FROM tags');
  assert.equal(n, backup.tags, 'the tags are in the target database');

  await wharf.stop();
  wharf = await startWharf({ dataDir: targetDir, configYaml: pgConfig(target), keepData: true });
  await assertServes(wharf, images);
  // The restored registry takes pushes, and its usage counters were rebuilt by the import.
  await pushSome(wharf, 1, 'after');
  const [usage] = await target.query<{ m: number }>('SELECT sum(manifest_count)::int AS m FROM repositories');
  assert.equal(usage!.m, backup.tags + 1);
});

test('a SQLite registry moves to PostgreSQL: its backup restored with metadata.driver postgres serves the same digests', async (t) => {
  const work = await tempDir('pg-migrate');
  const target = await freshSchema();
  const dest = join(work, 'backup');
  const targetDir = join(work, 'target');
  await mkdir(join(work, 'etc'), { recursive: true });
  const targetConfig = join(work, 'etc', 'target.yaml');
  await writeFile(targetConfig, pgConfig(target));
  let wharf = await startWharf(); // SQLite, the default
  const sqliteDir = wharf.dataDir;
  t.after(async () => {
    await wharf.stop();
    await rm(work, { recursive: true, force: true });
    await rm(sqliteDir, { recursive: true, force: true });
    await target.drop();
  });
  const images = await pushSome(wharf, 6);
  ok(await wharfCli(['backup', dest, '--data-dir', sqliteDir]));
  await wharf.stop();

  ok(await wharfCli(['restore', dest, '--config', targetConfig, '--data-dir', targetDir]));
  const [{ n }] = await target.query<{ n: number }>('SELECT count(*)::int AS n FROM manifests');
  assert.equal(n, 6, 'the manifests are in PostgreSQL');
  wharf = await startWharf({ dataDir: targetDir, configYaml: pgConfig(target), keepData: true });
  await assertServes(wharf, images);
});
