import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, test } from 'node:test';
import pino from 'pino';
import { validateConfig, resolvePaths } from '../../../src/config/load.js';
import { parseDigest } from '../../../src/oci/digest.js';
import { openRegistry, type Registry } from '../../../src/registry/registry.js';
import { blobKey } from '../../../src/storage/paths.js';

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';

describe('online garbage collection', () => {
  let dir: string;
  let reg: Registry;
  const run = (deleteUntagged = false, dryRun = false, gracePeriod = 0) => reg.gc.run({ deleteUntagged, dryRun, gracePeriod, trigger: 'cli' });

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'wharf-gc-'));
    const config = resolvePaths(validateConfig({ storage: { dataDir: dir }, gc: { enabled: false } }, 'test'));
    reg = openRegistry(config, pino({ level: 'silent' }));
  });
  afterEach(async () => {
    await reg.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function blob(repo: string, data = randomBytes(100)): Promise<{ digest: string; size: number }> {
    const digest = `sha256:${createHash('sha256').update(data).digest('hex')}`;
    await reg.uploads.monolithic(repo, parseDigest(digest)!, Readable.from([data]));
    return { digest, size: data.length };
  }

  // An index must state its children's true sizes: the registry refuses one that does not.
  const manifestSizes = new Map<string, number>();

  async function image(repo: string, tag: string | null, extra: Record<string, unknown> = {}): Promise<{ digest: string; blobs: string[] }> {
    const config = await blob(repo, Buffer.from(JSON.stringify({ n: randomBytes(4).toString('hex') })));
    const layer = await blob(repo);
    const body = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI_MANIFEST,
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
        layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', ...layer }],
        ...extra,
      }),
    );
    const digest = `sha256:${createHash('sha256').update(body).digest('hex')}`;
    await reg.manifests.push(repo, tag ? { tag } : { digest }, body, OCI_MANIFEST, []);
    manifestSizes.set(digest, body.length);
    return { digest, blobs: [config.digest, layer.digest] };
  }

  async function index(repo: string, tag: string | null, children: string[]): Promise<string> {
    const body = Buffer.from(
      JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: children.map((digest) => ({ mediaType: OCI_MANIFEST, digest, size: manifestSizes.get(digest) })) }),
    );
    const digest = `sha256:${createHash('sha256').update(body).digest('hex')}`;
    await reg.manifests.push(repo, tag ? { tag } : { digest }, body, OCI_INDEX, []);
    return digest;
  }

  const stored = async (digest: string) => (await reg.driver.stat(blobKey(parseDigest(digest)!))) !== null;
  const known = async (digest: string) => (await reg.metadata.getBlob(digest)) !== null;

  test('unreferenced blobs go (record and bytes); referenced and young ones stay', async () => {
    const kept = await image('r', 'v1');
    const orphan = await blob('r');
    const young = await blob('r');
    // Only the orphan is old enough: make it so by collecting with a grace that excludes the younger blob.
    const summary = await reg.gc.run({ deleteUntagged: false, dryRun: false, gracePeriod: 0, trigger: 'cli' });
    assert.equal(summary.blobsDeleted, 2, 'orphan and young blob both unreferenced with no grace');
    assert.equal(await known(orphan.digest), false);
    assert.equal(await stored(orphan.digest), false);
    assert.equal(await known(young.digest), false);
    for (const d of kept.blobs) assert.ok((await known(d)) && (await stored(d)), 'blobs of a tagged image stay');
    const fresh = await blob('r');
    const graced = await reg.gc.run({ deleteUntagged: false, dryRun: false, gracePeriod: 60_000, trigger: 'cli' });
    assert.equal(graced.blobsDeleted, 0);
    assert.equal(graced.deferred, 1, 'a blob younger than the grace period is deferred, not deleted');
    assert.ok(await stored(fresh.digest));
  });

  test('a second pass with nothing changed reviews nothing (incremental)', async () => {
    await image('r', 'v1');
    await blob('r');
    await run(true);
    const again = await run(true);
    assert.equal(again.reviewed, 0);
  });

  test('without delete-untagged, untagged manifests and their blobs stay; with it, they go in one pass', async () => {
    const old = await image('r', 'v1');
    const current = await image('r', 'v1'); // moves the tag: old is now untagged
    assert.equal((await run(false)).blobsDeleted, 0);
    assert.ok(await reg.metadata.getManifest('r', { digest: old.digest }));
    const summary = await run(true);
    assert.equal(summary.manifestsDeleted, 1);
    assert.equal(summary.blobsDeleted, 2);
    assert.equal(await reg.metadata.getManifest('r', { digest: old.digest }), null);
    for (const d of old.blobs) assert.equal(await stored(d), false);
    for (const d of current.blobs) assert.ok(await stored(d));
  });

  test('a tagged index keeps its untagged children; untagging the index frees all of it', async () => {
    const amd = await image('multi', null);
    const arm = await image('multi', null);
    const idx = await index('multi', 'latest', [amd.digest, arm.digest]);
    assert.equal((await run(true)).manifestsDeleted, 0);
    await reg.manifests.delete('multi', { tag: 'latest' });
    const summary = await run(true);
    assert.equal(summary.manifestsDeleted, 3);
    assert.equal(summary.blobsDeleted, 4);
    assert.equal(await reg.metadata.getManifest('multi', { digest: idx }), null);
  });

  test('a referrer lives as long as its subject', async () => {
    const subject = await image('app', 'v1');
    const signature = await image('app', null, { subject: { mediaType: OCI_MANIFEST, digest: subject.digest, size: 1 }, artifactType: 'application/vnd.example.sig' });
    assert.equal((await run(true)).manifestsDeleted, 0, 'an untagged referrer of a surviving subject stays');
    await reg.manifests.delete('app', { tag: 'v1' });
    const summary = await run(true);
    assert.equal(summary.manifestsDeleted, 2);
    assert.equal(await reg.metadata.getManifest('app', { digest: signature.digest }), null);
  });

  test('a blob leased by an upload in progress is skipped, and collected on a later pass', async () => {
    const orphan = await blob('r');
    assert.ok(await reg.metadata.acquireBlobLease(orphan.digest, 'upload-test', 60_000));
    const busy = await run();
    assert.equal(busy.busy, 1);
    assert.ok(await stored(orphan.digest));
    await reg.metadata.releaseBlobLease(orphan.digest, 'upload-test');
    assert.equal((await run()).blobsDeleted, 1);
  });

  test('a pass that crashed between the record and the bytes is finished by the next one; a re-pushed blob is kept', async () => {
    const lost = await blob('r');
    const repushed = await blob('r', Buffer.from('pushed again'));
    for (const d of [lost.digest, repushed.digest]) assert.equal((await reg.metadata.collectBlob(d, Date.now(), 0, false)).outcome, 'deleted');
    await blob('r', Buffer.from('pushed again'));
    await reg.gc.run({ deleteUntagged: false, dryRun: false, gracePeriod: 60_000, trigger: 'cli' }); // the re-pushed blob is young

    assert.equal(await stored(lost.digest), false, 'bytes of the interrupted deletion are removed');
    assert.ok((await stored(repushed.digest)) && (await known(repushed.digest)), 'a blob pushed again after the crash survives');
    assert.deepEqual(await reg.metadata.pendingBlobDeletions(10), []);
  });

  test('a dry run reports and changes nothing', async () => {
    const orphan = await blob('r');
    await image('r', 'v1');
    await image('r', 'v1');
    const dry = await run(true, true);
    assert.equal(dry.dryRun, true);
    assert.equal(dry.manifestsDeleted, 1);
    assert.equal(dry.blobsDeleted, 1, 'only the blob that is unreferenced now');
    assert.ok(await stored(orphan.digest));
    assert.equal((await run(true, true)).reviewed, dry.reviewed, 'nothing was dequeued');
  });
});
