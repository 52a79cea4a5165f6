// Real containerd (`ctr`, daemon started privately) pulling images that skopeo pushed to the registry under test:
// single-platform OCI and Docker schema2 images, and a multi-arch index by platform and with --all-platforms.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { tempDir, type RunningRegistry } from '../support/processes.js';
import { withServerLog } from './support/diag.js';
import { startContainerd, parseImagesLs, CTR_NAMESPACE, type Containerd, type CtrImage } from './support/containerd.js';
import { run } from './support/exec.js';
import {
  buildImage,
  readBlob,
  sha256,
  writeImageIndex,
  DOCKER_MANIFEST_V2,
  OCI_INDEX,
  OCI_MANIFEST,
  type BuiltImage,
  type BuiltIndex,
  type ImageManifest,
} from './support/oci.js';
import { skopeoCopy, skopeoInspectRaw } from './support/skopeo.js';
import { startTarget, targetName } from './support/target.js';

const KiB = 1024;

describe(`containerd ctr interop (${targetName()})`, () => {
  let reg: RunningRegistry | undefined;
  let ctd: Containerd | undefined;
  let work = '';
  let layout = '';
  let app: BuiltImage;
  let multi: BuiltIndex;
  let v2s2Manifest: Buffer;
  const host = (): string => reg?.host ?? 'unstarted';

  async function pull(ref: string, extra: string[] = []): Promise<void> {
    // native snapshotter: unpacking (which checks every layer against the config's diff_ids) then works on any
    // filesystem, also where /tmp is itself an overlay
    await ctd?.ctr(['images', 'pull', '--plain-http', '--snapshotter', 'native', ...extra, ref]);
  }

  async function listed(ref: string): Promise<CtrImage> {
    assert.ok(ctd);
    const images = parseImagesLs(await ctd.ctrText(['images', 'ls']));
    const found = images.find((i) => i.ref === ref);
    assert.ok(found, `ctr images ls does not show ${ref}: ${JSON.stringify(images)}`);
    return found;
  }

  /** `ctr content get DIGEST` must return bytes hashing to DIGEST (and equal to `expected` when given). */
  async function assertContent(digest: string, expected?: Buffer): Promise<void> {
    assert.ok(ctd);
    const res = await ctd.ctr(['content', 'get', digest]);
    assert.equal(sha256(res.stdout), digest, `containerd content ${digest} is corrupt`);
    if (expected) assert.ok(res.stdout.equals(expected), `containerd content ${digest} differs from the source bytes`);
  }

  async function contentMissing(digest: string): Promise<boolean> {
    assert.ok(ctd);
    const res = await run('ctr', ['--address', ctd.address, '--namespace', CTR_NAMESPACE, 'content', 'get', digest]);
    return res.code !== 0;
  }

  async function assertCheckComplete(ref: string): Promise<void> {
    assert.ok(ctd);
    const out = await ctd.ctrText(['images', 'check', '--snapshotter', 'native', `name==${ref}`]);
    const line = out.split('\n').find((l) => l.startsWith(`${ref} `));
    assert.ok(line, `ctr images check does not list ${ref}:\n${out}`);
    assert.match(line, /\bcomplete \((\d+)\/\1\)/, `ctr images check: content incomplete: ${line}`);
    assert.match(line, /\btrue$/, `ctr images check: not unpacked: ${line}`);
  }

  before(async () => {
    work = await tempDir('interop-containerd');
    layout = join(work, 'src');
    app = await buildImage(layout, 'app', [
      { files: [{ path: 'etc/issue', content: 'wharf containerd interop\n' }] },
      { files: [{ path: 'srv/a.bin', size: 256 * KiB }] },
      { files: [{ path: 'srv/b.bin', size: 2048 * KiB }] },
    ]);
    const amd = await buildImage(layout, 'amd', [{ files: [{ path: 'payload', size: 96 * KiB }] }], { architecture: 'amd64', os: 'linux' });
    const arm = await buildImage(layout, 'arm', [{ files: [{ path: 'payload', size: 80 * KiB }] }], { architecture: 'arm64', os: 'linux' });
    multi = await writeImageIndex(layout, 'multi', [
      { image: amd, platform: { architecture: 'amd64', os: 'linux' } },
      { image: arm, platform: { architecture: 'arm64', os: 'linux', variant: 'v8' } },
    ]);
    reg = await startTarget();
    ctd = await startContainerd();
    await skopeoCopy(`oci:${layout}:app`, `docker://${host()}/ctr/app:v1`);
    await skopeoCopy(`oci:${layout}:app`, `docker://${host()}/ctr/app-v2s2:v1`, ['--format', 'v2s2']);
    await skopeoCopy(`oci:${layout}:multi`, `docker://${host()}/ctr/multi:v1`, ['--all']);
    v2s2Manifest = await skopeoInspectRaw(`docker://${host()}/ctr/app-v2s2:v1`);
  });

  after(async () => {
    if (ctd) await ctd.stop();
    await reg?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  test('ctr pull of an OCI image: listed digest is the pushed manifest digest, every blob intact, unpacked', () =>
    withServerLog(reg, async () => {
      const ref = `${host()}/ctr/app:v1`;
      await pull(ref);
      const img = await listed(ref);
      assert.equal(img.digest, app.manifestDigest);
      assert.equal(img.type, OCI_MANIFEST);
      assert.equal(img.platforms, 'linux/amd64');
      await assertContent(app.manifestDigest, app.manifestBytes);
      await assertContent(app.configDigest, await readBlob(layout, app.configDigest));
      for (const layer of app.layerDigests) await assertContent(layer, await readBlob(layout, layer));
      await assertCheckComplete(ref);
    }));

  test('ctr pull of a Docker schema2 image: digest of the served manifest, layers intact', () =>
    withServerLog(reg, async () => {
      const ref = `${host()}/ctr/app-v2s2:v1`;
      await pull(ref);
      const img = await listed(ref);
      assert.equal(img.digest, sha256(v2s2Manifest));
      assert.equal(img.type, DOCKER_MANIFEST_V2);
      await assertContent(img.digest, v2s2Manifest);
      const manifest = JSON.parse(v2s2Manifest.toString('utf8')) as ImageManifest;
      assert.deepEqual(
        manifest.layers.map((l) => l.digest),
        app.layerDigests,
      );
      await assertCheckComplete(ref);
    }));

  test('ctr pull --platform linux/arm64 of a multi-arch index fetches the arm64 image only', () =>
    withServerLog(reg, async () => {
      const ref = `${host()}/ctr/multi:v1`;
      await pull(ref, ['--platform', 'linux/arm64']);
      const img = await listed(ref);
      assert.equal(img.digest, multi.digest, 'index digest changed');
      assert.equal(img.type, OCI_INDEX);
      await assertContent(multi.digest, multi.bytes);
      const [amd, arm] = multi.children;
      assert.ok(amd && arm);
      await assertContent(arm.manifestDigest, arm.manifestBytes);
      for (const layer of arm.layerDigests) await assertContent(layer, await readBlob(layout, layer));
      assert.ok(await contentMissing(amd.layerDigests[0] ?? ''), 'amd64 layer fetched although only arm64 was asked for');
    }));

  test('ctr pull --all-platforms of the multi-arch index: both platform images intact', () =>
    withServerLog(reg, async () => {
      const ref = `${host()}/ctr/multi:v1`;
      await pull(ref, ['--all-platforms']);
      const img = await listed(ref);
      assert.equal(img.digest, multi.digest);
      assert.deepEqual(img.platforms.split(',').sort(), ['linux/amd64', 'linux/arm64/v8']);
      for (const child of multi.children) {
        await assertContent(child.manifestDigest, child.manifestBytes);
        await assertContent(child.configDigest, await readBlob(layout, child.configDigest));
        for (const layer of child.layerDigests) await assertContent(layer, await readBlob(layout, layer));
      }
    }));
});
