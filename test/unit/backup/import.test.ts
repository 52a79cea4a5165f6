// The Distribution importer on storage directories written by hand in Distribution's layout, for the cases real
// pushes cannot produce: torn links, data removed by `registry garbage-collect`, corrupt bytes, schema 1, names
// Wharf rejects, nested repositories, and a crashed import's leftovers.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { DistributionLayoutError, DistributionStorage } from '../../../src/importer/distribution.js';
import { runImport, type ImportOptions } from '../../../src/importer/importer.js';
import { inflightFileName, lockFileName, stateFileName } from '../../../src/importer/state.js';
import type { Registry } from '../../../src/registry/registry.js';
import { OCI_INDEX, OCI_MANIFEST, open, pushImage, sha256, tempDir } from './support.js';

/** Writes Distribution's on-disk layout. */
class FakeDistribution {
  readonly v2: string;
  constructor(readonly root: string) {
    this.v2 = join(root, 'docker', 'registry', 'v2');
  }

  private async write(rel: string, data: string | Buffer): Promise<void> {
    const path = join(this.v2, rel);
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, data);
  }

  /** Stores bytes under blobs/ and returns their digest. */
  async blob(data: Buffer): Promise<string> {
    const digest = sha256(data);
    await this.write(`blobs/sha256/${digest.slice(7, 9)}/${digest.slice(7)}/data`, data);
    return digest;
  }

  async linkLayer(repo: string, digest: string, content = digest): Promise<void> {
    await this.write(`repositories/${repo}/_layers/sha256/${digest.slice(7)}/link`, content);
  }

  async revision(repo: string, digest: string, content = digest): Promise<void> {
    await this.write(`repositories/${repo}/_manifests/revisions/sha256/${digest.slice(7)}/link`, content);
  }

  async tag(repo: string, tag: string, digest: string): Promise<void> {
    await this.write(`repositories/${repo}/_manifests/tags/${tag}/current/link`, digest);
    await this.write(`repositories/${repo}/_manifests/tags/${tag}/index/sha256/${digest.slice(7)}/link`, digest);
  }

  /** An OCI image (config + layers, linked) pushed as Distribution records it; returns the manifest digest. */
  async image(repo: string, tag: string | null, layers: Buffer[] = [randomBytes(700)], mediaType: string | null = OCI_MANIFEST): Promise<{ digest: string; blobs: string[]; body: Buffer }> {
    const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', n: randomBytes(4).toString('hex') }));
    const blobs = [await this.blob(config)];
    for (const l of layers) blobs.push(await this.blob(l));
    for (const b of blobs) await this.linkLayer(repo, b);
    const doc: Record<string, unknown> = { schemaVersion: 2 };
    if (mediaType) doc.mediaType = mediaType;
    doc.config = { mediaType: 'application/vnd.oci.image.config.v1+json', digest: blobs[0], size: config.length };
    doc.layers = layers.map((l, i) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: blobs[i + 1], size: l.length }));
    const body = Buffer.from(JSON.stringify(doc));
    const digest = await this.blob(body);
    await this.revision(repo, digest);
    if (tag) await this.tag(repo, tag, digest);
    return { digest, blobs, body };
  }

  /** An index, its digest made to sort before its children's (so that digest order would push it first). */
  async index(repo: string, tag: string, children: { digest: string; body: Buffer }[]): Promise<string> {
    let body: Buffer;
    for (let nonce = 0; ; nonce++) {
      body = Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: OCI_INDEX,
          manifests: children.map((c, i) => ({ mediaType: OCI_MANIFEST, digest: c.digest, size: c.body.length, platform: { architecture: `a${i}`, os: 'linux' } })),
          annotations: { nonce: String(nonce) },
        }),
      );
      if (children.every((c) => sha256(body) < c.digest)) break;
    }
    const digest = await this.blob(body);
    await this.revision(repo, digest);
    await this.tag(repo, tag, digest);
    return digest;
  }

  async removeData(digest: string): Promise<void> {
    await rm(join(this.v2, 'blobs', 'sha256', digest.slice(7, 9), digest.slice(7)), { recursive: true });
  }

  async corruptData(digest: string): Promise<void> {
    await writeFile(join(this.v2, 'blobs', 'sha256', digest.slice(7, 9), digest.slice(7), 'data'), 'not the original bytes');
  }
}

describe('import from a Distribution storage directory', () => {
  let root: string;
  let dist: FakeDistribution;
  let dataDir: string;
  let reg: Registry;

  beforeEach(async () => {
    root = await tempDir('import-unit');
    dist = new FakeDistribution(join(root, 'registry'));
    dataDir = join(root, 'data');
    reg = open(dataDir).reg;
  });
  afterEach(async () => {
    await reg.close();
    await rm(root, { recursive: true, force: true });
  });

  const run = async (extra: Partial<ImportOptions> = {}) =>
    runImport({ storage: await DistributionStorage.open(dist.root), registry: reg, dryRun: false, stateDir: dataDir, ...extra });

  test('nested repositories, an index whose children sort after it, and a manifest without mediaType', async () => {
    const parent = await dist.image('team/app', 'v1');
    const children = [await dist.image('team/app/sub', null), await dist.image('team/app/sub', null)];
    const indexDigest = await dist.index('team/app/sub', 'multi', children);
    const bare = await dist.image('team/app/sub', 'bare', undefined, null); // as umoci writes them
    const summary = await run();
    assert.deepEqual(summary.problems, []);
    assert.deepEqual(await reg.metadata.listRepositories({ limit: 10 }), ['team/app', 'team/app/sub']);
    assert.equal((await reg.metadata.getManifest('team/app', { tag: 'v1' }))?.digest, parent.digest);
    assert.equal((await reg.metadata.getManifest('team/app/sub', { tag: 'multi' }))?.digest, indexDigest);
    const bareRecord = await reg.metadata.getManifest('team/app/sub', { tag: 'bare' });
    assert.equal(bareRecord?.mediaType, OCI_MANIFEST);
    assert.ok(bareRecord?.body.equals(bare.body), 'manifest bytes are kept exactly');
    assert.equal(summary.counts.manifestsImported, 5);
    assert.equal(summary.counts.tagsSet, 3);
  });

  test('damaged sources: what can be imported is, the rest is reported; schema 1 is counted, not a problem', async () => {
    const good = await dist.image('ok/app', 'v1');
    // registry garbage-collect removed a blob's data but left the layer link: nothing uses it.
    const gone = await dist.blob(randomBytes(300));
    await dist.linkLayer('ok/app', gone);
    await dist.removeData(gone);
    // A layer whose data is corrupt: its manifest and tag cannot be imported.
    const bad = await dist.image('bad/app', 'v1', [randomBytes(900)]);
    await dist.corruptData(bad.blobs[1]!);
    const fine = await dist.image('bad/app', 'v2');
    // A torn tag link (Distribution crashed while rewriting it).
    await dist.image('bad/app', 'torn');
    await writeFile(join(dist.v2, 'repositories/bad/app/_manifests/tags/torn/current/link'), '');
    // Schema 1 with a tag.
    const s1 = await dist.blob(Buffer.from(JSON.stringify({ schemaVersion: 1, name: 'ok/app', tag: 'old', fsLayers: [], history: [] })));
    await dist.revision('ok/app', s1);
    await dist.tag('ok/app', 'old', s1);
    // A name Wharf does not accept.
    await dist.image('Upper/Case', 'v1');

    const summary = await run();
    assert.equal((await reg.metadata.getManifest('ok/app', { tag: 'v1' }))?.digest, good.digest);
    assert.equal(await reg.metadata.getManifest('ok/app', { tag: 'old' }), null);
    assert.equal((await reg.metadata.getManifest('bad/app', { tag: 'v2' }))?.digest, fine.digest);
    assert.equal(await reg.metadata.getManifest('bad/app', { tag: 'v1' }), null);
    assert.equal(await reg.metadata.getBlob(bad.blobs[1]!), null, 'corrupt bytes are not imported');
    assert.equal(summary.counts.schema1Manifests, 1);
    assert.equal(summary.counts.schema1Tags, 1);
    assert.equal(summary.counts.danglingLinks, 1);
    const byRepo = Object.fromEntries(summary.repositories.map((r) => [r.name, r.status]));
    assert.deepEqual(byRepo, { 'Upper/Case': 'invalid-name', 'bad/app': 'incomplete', 'ok/app': 'imported' });
    const text = summary.problems.join('\n');
    assert.match(text, new RegExp(`bad/app: blob ${bad.blobs[1]}: its data in the source is corrupt`));
    assert.match(text, new RegExp(`bad/app: manifest ${bad.digest}: not imported`));
    assert.match(text, /bad\/app: tag v1: not set/);
    assert.match(text, /bad\/app: unusable link file .*tags\/torn\/current\/link: empty link file/);
    assert.match(text, /Upper\/Case: not a valid repository name/);
    assert.equal(summary.problems.length, 5, text);

    // The state keeps only ok/app as complete: a re-run retries bad/app (still failing) and skips ok/app.
    const state = JSON.parse(await readFile(join(dataDir, stateFileName), 'utf8')) as { completed: Record<string, string>; finishedAt: string | null };
    assert.deepEqual(Object.keys(state.completed), ['ok/app']);
    assert.equal(state.finishedAt, null);
    const again = await run();
    assert.equal(again.counts.repositoriesUnchanged, 1);
    assert.equal(again.problems.length, 5);
    assert.equal(again.counts.blobsImported, 0);
  });

  test('a re-run imports what changed in a completed repository since', async () => {
    await dist.image('app', 'v1');
    await run();
    const added = await dist.image('app', 'v2');
    const summary = await run();
    assert.equal(summary.counts.repositoriesUnchanged, 0, 'the fingerprint changed');
    assert.equal(summary.counts.blobsImported, 2);
    assert.equal(summary.counts.manifestsImported, 1);
    assert.equal(summary.counts.tagsSet, 1);
    assert.equal((await reg.metadata.getManifest('app', { tag: 'v2' }))?.digest, added.digest);
  });

  test('re-runs follow tags the source moved, but keep tags pushed to Wharf directly (unless --overwrite-tags)', async () => {
    const v1 = await dist.image('app', 'v1');
    await dist.image('app', 'v3');
    const first = await run();
    assert.equal(first.counts.tagsSet, 2);
    await new Promise((r) => setTimeout(r, 5));
    // After the switch-over a client pushes app:v1 to Wharf; meanwhile the source still gets a push moving v3.
    const direct = await pushImage(reg, 'app', 'v1');
    const moved = await dist.image('app', 'v3');
    const second = await run();
    assert.deepEqual(second.problems, []);
    assert.equal(second.counts.tagsMoved, 1, 'v3: set by the import, moved in the source: follows the source');
    assert.equal((await reg.metadata.getManifest('app', { tag: 'v3' }))?.digest, moved.digest);
    assert.equal((await reg.metadata.getManifest('app', { tag: 'v1' }))?.digest, direct.digest, 'v1 was pushed to Wharf directly: kept');
    assert.deepEqual(second.conflicts, [`app:v1 (Wharf: ${direct.digest}, source: ${v1.digest})`]);
    const forced = await run({ full: true, overwriteTags: true });
    assert.deepEqual(forced.conflicts, []);
    assert.equal((await reg.metadata.getManifest('app', { tag: 'v1' }))?.digest, v1.digest);
  });

  test('the leftovers of a killed import (open session, held lease) are cleaned up instead of waited out', async () => {
    const img = await dist.image('app', 'v1', [randomBytes(5000)]);
    const layer = img.blobs[1]!;
    // What a run killed inside UploadService.finish leaves: a session with staged bytes, and the digest's lease.
    const { id } = await reg.uploads.start('app', 'sha256');
    assert.ok(await reg.metadata.acquireBlobLease(layer, `upload-${id}`, 60_000));
    await writeFile(join(dataDir, inflightFileName), JSON.stringify({ uploads: [{ id, repository: 'app', digest: layer }] }));
    const notices: string[] = [];
    const started = Date.now();
    const summary = await run({ onNotice: (m) => notices.push(m) });
    assert.ok(Date.now() - started < 10_000, `the import took ${Date.now() - started} ms: it waited for the lease`);
    assert.deepEqual(summary.problems, []);
    assert.match(notices.join('\n'), /cleaned up 1 upload\(s\)/);
    assert.equal(await reg.metadata.getUpload(id), null);
    assert.equal((await reg.metadata.getManifest('app', { tag: 'v1' }))?.digest, img.digest);
    assert.deepEqual(JSON.parse(await readFile(join(dataDir, inflightFileName), 'utf8')), { uploads: [] });
  });

  test('a second import into the same data dir while one runs is refused', async () => {
    await dist.image('app', 'v1');
    await writeFile(join(dataDir, lockFileName), JSON.stringify({ pid: process.pid, host: hostname(), since: 'now' }));
    await assert.rejects(run(), /another import into this data dir is running/);
    await rm(join(dataDir, lockFileName));
    // A lock left by a dead process is taken over.
    await writeFile(join(dataDir, lockFileName), JSON.stringify({ pid: 2 ** 22 + 12345, host: hostname(), since: 'then' }));
    const summary = await run();
    assert.equal(summary.counts.tagsSet, 1);
  });

  test('dry run: nothing is written, blobs shared by repositories are counted once', async () => {
    const shared = randomBytes(1000);
    await dist.image('a', 'v1', [shared]);
    await dist.image('b', 'v1', [shared]);
    const summary = await run({ dryRun: true });
    assert.equal(summary.counts.blobsImported, 3, 'two configs and the shared layer');
    assert.equal(summary.counts.blobsLinked, 1, 'the shared layer is linked into the second repository');
    assert.equal(summary.counts.tagsSet, 2);
    assert.deepEqual(await reg.metadata.listRepositories({ limit: 10 }), []);
    await assert.rejects(readFile(join(dataDir, stateFileName)), /ENOENT/);
  });

  test('a directory that is not Distribution storage is refused with a hint', async () => {
    await mkdir(join(root, 'empty'));
    await assert.rejects(DistributionStorage.open(join(root, 'empty')), (err: unknown) => {
      assert.ok(err instanceof DistributionLayoutError);
      assert.match(err.message, /rootdirectory/);
      return true;
    });
  });
});
