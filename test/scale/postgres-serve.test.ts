// A real `wharf serve` with metadata.driver postgres, end to end over HTTP: push and pull, tag list, delete and a
// `wharf gc` run from another process against the same database (a second node's view), then a restart.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { access, mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { wharfCli } from '../support/cli.js';
import { startWharf, tempDir } from '../support/processes.js';
import { pullImage, pushImage } from '../support/push.js';
import { freshSchema } from './postgres-database.js';

const exists = (path: string) => access(path).then(() => true, () => false);
const blobFile = (dataDir: string, digest: string) => {
  const hex = digest.slice('sha256:'.length);
  return join(dataDir, 'storage', 'blobs', 'sha256', hex.slice(0, 2), hex);
};

test('wharf serve on PostgreSQL: push, pull, tags, delete + gc frees the blob, and a restart keeps the rest', async () => {
  const db = await freshSchema();
  const dataDir = await tempDir('pg-serve');
  const configDir = await tempDir('pg-serve-config');
  // The test server trusts every local connection; the password is there to prove it is never printed.
  const url = new URL(db.url);
  url.password = 'never-printed-pw';
  const configYaml = `metadata:\n  driver: postgres\n  postgres:\n    url: "${url}"\n    poolSize: 4\ngc:\n  enabled: false\n`;
  const configFile = join(configDir, 'wharf.yaml');
  await mkdir(configDir, { recursive: true });
  await writeFile(configFile, configYaml);
  let wharf = await startWharf({ dataDir, configYaml, keepData: true });
  try {
    const shared = randomBytes(2048);
    const kept = await pushImage(wharf.url, 'team/app', 'v1', shared, { minLayer: 4096, extraLayer: 4096 });
    const doomed = await pushImage(wharf.url, 'team/app', 'v2', shared, { minLayer: 4096, extraLayer: 4096 });
    assert.ok(kept && doomed, 'both pushes acknowledged');
    assert.deepEqual((await pullImage(wharf.url, 'team/app', 'v1')).digest, kept.digest);
    assert.deepEqual((await pullImage(wharf.url, 'team/app', 'v2')).digest, doomed.digest);

    const tags = await fetch(`${wharf.url}/v2/team/app/tags/list`);
    assert.deepEqual(await tags.json(), { name: 'team/app', tags: ['v1', 'v2'] });
    const catalog = await fetch(`${wharf.url}/v2/_catalog`);
    assert.deepEqual(await catalog.json(), { repositories: ['team/app'] });
    const rows = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM manifests');
    assert.equal(rows[0]!.n, 2, 'the manifests are in PostgreSQL');

    const onlyDoomed = doomed.blobs.filter((b) => !kept.blobs.includes(b));
    assert.equal(onlyDoomed.length, 2, 'its config and its own layer');
    const del = await fetch(`${wharf.url}/v2/team/app/manifests/${doomed.digest}`, { method: 'DELETE' });
    assert.equal(del.status, 202);
    for (const b of onlyDoomed) assert.ok(await exists(blobFile(dataDir, b)), 'bytes stay until GC');

    // Another process on the same database, as a second node would be: it sees the deletion and frees the bytes.
    const gc = await wharfCli(['gc', '--grace', '0', '--config', configFile, '--data-dir', dataDir]);
    assert.equal(gc.code, 0, gc.stderr);
    assert.match(gc.stdout, /deleted 0 manifests and 2 blobs/);
    for (const b of onlyDoomed) {
      assert.equal(await exists(blobFile(dataDir, b)), false, `GC deleted the bytes of ${b}`);
      const res = await fetch(`${wharf.url}/v2/team/app/blobs/${b}`, { method: 'HEAD' });
      assert.equal(res.status, 404);
    }
    for (const b of kept.blobs) assert.ok(await exists(blobFile(dataDir, b)), 'what v1 uses stays');

    assert.doesNotMatch(gc.stdout + gc.stderr, /never-printed-pw/);
    await wharf.stop();
    assert.doesNotMatch(wharf.output(), /never-printed-pw/);
    wharf = await startWharf({ dataDir, configYaml, keepData: true });
    assert.equal((await pullImage(wharf.url, 'team/app', 'v1')).digest, kept.digest, 'state survives a restart');
    const after = await fetch(`${wharf.url}/v2/team/app/tags/list`);
    assert.deepEqual(await after.json(), { name: 'team/app', tags: ['v1'] });
    const gone = await fetch(`${wharf.url}/v2/team/app/manifests/v2`, { method: 'HEAD' });
    assert.equal(gone.status, 404);
  } finally {
    await wharf.stop();
    await rm(dataDir, { recursive: true, force: true });
    await rm(configDir, { recursive: true, force: true });
    await db.drop();
  }
});

test('two `wharf gc` runs at once on one PostgreSQL (two nodes) free each blob once between them', async () => {
  const db = await freshSchema();
  const dataDir = await tempDir('pg-gc-pair');
  const configDir = await tempDir('pg-gc-pair-config');
  const configYaml = `metadata:\n  driver: postgres\n  postgres:\n    url: "${db.url}"\ngc:\n  enabled: false\n`;
  const configFile = join(configDir, 'wharf.yaml');
  await writeFile(configFile, configYaml);
  const wharf = await startWharf({ dataDir, configYaml, keepData: true });
  try {
    const shared = randomBytes(1024);
    const images = [];
    for (let i = 0; i < 40; i++) {
      const image = await pushImage(wharf.url, `team/app${i % 4}`, `t${i}`, shared, { minLayer: 512, extraLayer: 512 });
      assert.ok(image);
      images.push(image);
    }
    for (const [i, image] of images.entries()) {
      const res = await fetch(`${wharf.url}/v2/team/app${i % 4}/manifests/${image.digest}`, { method: 'DELETE' });
      assert.equal(res.status, 202);
    }
    const garbage = new Set(images.flatMap((image) => image.blobs));
    const gc = () => wharfCli(['gc', '--grace', '0', '--config', configFile, '--data-dir', dataDir]);
    const runs = await Promise.all([gc(), gc()]);
    let freed = 0;
    for (const run of runs) {
      assert.equal(run.code, 0, run.stderr);
      freed += Number(/deleted \d+ manifests and (\d+) blobs/.exec(run.stdout)?.[1] ?? NaN);
    }
    assert.equal(freed, garbage.size, `each of the ${garbage.size} blobs is counted freed by one run only`);
    for (const b of garbage) assert.equal(await exists(blobFile(dataDir, b)), false, `${b} freed`);
    const rows = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM blobs');
    assert.equal(rows[0]!.n, 0);
  } finally {
    await wharf.stop();
    await rm(dataDir, { recursive: true, force: true });
    await rm(configDir, { recursive: true, force: true });
    await db.drop();
  }
});

test('wharf serve refuses to start when PostgreSQL cannot be reached, and says where without the password', async () => {
  const dataDir = await tempDir('pg-serve-down');
  const configDir = await tempDir('pg-serve-down-config');
  const configFile = join(configDir, 'wharf.yaml');
  await writeFile(configFile, 'metadata:\n  driver: postgres\n  postgres:\n    url: "postgres://wharf:s3cret-pw@127.0.0.1:1/registry"\n');
  try {
    const serve = await wharfCli(['serve', '--addr', '127.0.0.1:0', '--config', configFile, '--data-dir', dataDir], {
      env: { WHARF_METRICS__ADDR: '127.0.0.1:0' },
      timeoutMs: 30_000,
    });
    assert.notEqual(serve.code, 0, 'it exits');
    assert.equal(serve.signal, null, 'by itself, not killed by the timeout');
    const output = serve.stdout + serve.stderr;
    assert.match(output, /postgres:\/\/wharf:\*\*\*@127\.0\.0\.1:1\/registry/);
    assert.doesNotMatch(output, /s3cret/);
  } finally {
    await rm(dataDir, { recursive: true, force: true });
    await rm(configDir, { recursive: true, force: true });
  }
});
