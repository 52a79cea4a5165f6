// Real skopeo (containers/image) against the registry under test: OCI and Docker schema2 round trips,
// multi-arch index, inspect, list-tags, delete. Every check compares real digests of real bytes.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { tempDir, type RunningRegistry } from '../support/processes.js';
import { withServerLog, sortedCopy } from './support/diag.js';
import {
  buildImage,
  loadImage,
  readBlob,
  resolveRef,
  sha256,
  verifyDirCopy,
  verifyLayoutBlobs,
  writeImageIndex,
  DOCKER_MANIFEST_V2,
  OCI_INDEX,
  type BuiltImage,
  type BuiltIndex,
  type ImageIndex,
  type ImageManifest,
} from './support/oci.js';
import {
  skopeoCopy,
  skopeoDelete,
  skopeoInspect,
  skopeoInspectConfig,
  skopeoInspectRaw,
  skopeoInspectRawFailing,
  skopeoListTags,
} from './support/skopeo.js';
import { startTarget, targetName } from './support/target.js';

const KiB = 1024;
const MiB = 1024 * KiB;

describe(`skopeo interop (${targetName()})`, () => {
  let reg: RunningRegistry | undefined;
  let work = '';
  let layout = '';
  let app: BuiltImage;
  let small: BuiltImage;
  let multi: BuiltIndex;
  const docker = (path: string): string => `docker://${reg?.host ?? 'unstarted'}/${path}`;

  before(async () => {
    work = await tempDir('interop-skopeo');
    layout = join(work, 'src');
    const smallFiles = Array.from({ length: 24 }, (_, i) => ({ path: `srv/small/f${i}.bin`, size: 1 * KiB + i * 131 }));
    app = await buildImage(layout, 'app', [
      { files: [{ path: 'etc/wharf/hello.txt', content: 'hello from the wharf interop suite\n' }, { path: 'etc/wharf/nonce', size: 16 }] },
      { files: [{ path: 'srv/medium.bin', size: 200 * KiB }, ...smallFiles] },
      { files: [{ path: 'srv/big.bin', size: 3 * MiB }] },
      { files: [{ path: 'srv/large.bin', size: 24 * MiB }] },
    ]);
    small = await buildImage(layout, 'small', [{ files: [{ path: 'tiny.bin', size: 64 }] }]);
    const amd = await buildImage(layout, 'multi-amd64', [{ files: [{ path: 'arch', content: 'amd64\n' }] }, { files: [{ path: 'payload.bin', size: 512 * KiB }] }], {
      architecture: 'amd64',
      os: 'linux',
    });
    const arm = await buildImage(layout, 'multi-arm64', [{ files: [{ path: 'arch', content: 'arm64\n' }] }, { files: [{ path: 'payload.bin', size: 384 * KiB }] }], {
      architecture: 'arm64',
      os: 'linux',
    });
    multi = await writeImageIndex(layout, 'multi', [
      { image: amd, platform: { architecture: 'amd64', os: 'linux' } },
      { image: arm, platform: { architecture: 'arm64', os: 'linux', variant: 'v8' } },
    ]);
    reg = await startTarget();
  });

  after(async () => {
    await reg?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  test('copy of a 4-layer OCI image keeps the exact manifest bytes and digest', () =>
    withServerLog(reg, async () => {
      await skopeoCopy(`oci:${layout}:app`, docker('interop/app:v1'));
      const raw = await skopeoInspectRaw(docker('interop/app:v1'));
      assert.equal(sha256(raw), app.manifestDigest, 'manifest digest changed on the way through the registry');
      assert.ok(raw.equals(app.manifestBytes), 'manifest bytes differ from the pushed ones');
      const byDigest = await skopeoInspectRaw(docker(`interop/app@${app.manifestDigest}`));
      assert.ok(byDigest.equals(app.manifestBytes), 'GET manifest by digest returned different bytes');
      const config = await skopeoInspectConfig(docker('interop/app:v1'));
      assert.equal(sha256(config), app.configDigest, 'config blob digest differs');
      assert.ok(config.equals(await readBlob(layout, app.configDigest)));
    }));

  test('inspect reports the manifest digest, the layers and the platform', () =>
    withServerLog(reg, async () => {
      const info = await skopeoInspect(docker('interop/app:v1'));
      assert.equal(info.Digest, app.manifestDigest);
      assert.deepEqual(info.Layers, app.layerDigests);
      assert.equal(info.Architecture, 'amd64');
      assert.equal(info.Os, 'linux');
    }));

  test('copy back to a new OCI layout: every blob intact, same config and layer set', () =>
    withServerLog(reg, async () => {
      const out = join(work, 'pulled-app');
      await skopeoCopy(docker('interop/app:v1'), `oci:${out}:app`);
      const blobs = await verifyLayoutBlobs(out);
      const pulled = await loadImage(out, 'app');
      assert.equal(pulled.descriptor.digest, app.manifestDigest, 'pulled manifest digest differs from the source layout');
      assert.ok(pulled.manifestBytes.equals(app.manifestBytes));
      assert.equal(pulled.manifest.config.digest, app.configDigest);
      assert.deepEqual(
        pulled.manifest.layers.map((l) => l.digest),
        app.layerDigests,
      );
      for (const layer of app.manifest.layers) {
        assert.equal(blobs.get(layer.digest), layer.size, `layer ${layer.digest} missing or wrong size in the pulled layout`);
      }
      assert.deepEqual(sortedCopy(blobs.keys()), sortedCopy([app.manifestDigest, app.configDigest, ...app.layerDigests]));
    }));

  test('list-tags shows every pushed tag, in lexical order', (t) =>
    withServerLog(reg, async () => {
      // all lower case, so byte order and case-insensitive order agree
      const extra = ['v2', 'latest', '1.0', 'a-b_c.d', 'v10'];
      for (const tag of extra) await skopeoCopy(docker('interop/app:v1'), docker(`interop/app:${tag}`));
      const tags = await skopeoListTags(docker('interop/app'));
      const expected = sortedCopy(['v1', ...extra]);
      assert.deepEqual(sortedCopy(tags.Tags), expected, 'tag set differs');
      if (targetName() === 'wharf') {
        // distribution-spec "Listing Tags": if the list is not empty, the tags MUST be in lexical order
        assert.deepEqual(tags.Tags, expected, 'tags not in lexical order');
      } else if (tags.Tags.join() !== expected.join()) {
        t.diagnostic(`${targetName()} lists tags unsorted (not checked for the reference registry): ${tags.Tags.join(', ')}`);
      }
      for (const tag of extra) {
        assert.equal(sha256(await skopeoInspectRaw(docker(`interop/app:${tag}`))), app.manifestDigest, `tag ${tag} points elsewhere`);
      }
    }));

  test('copy into a second repository of the same registry (blob mount or re-upload) keeps digests', () =>
    withServerLog(reg, async () => {
      await skopeoCopy(`oci:${layout}:app`, docker('interop/nested/second:v1'));
      const raw = await skopeoInspectRaw(docker('interop/nested/second:v1'));
      assert.equal(sha256(raw), app.manifestDigest);
      const out = join(work, 'pulled-second');
      await skopeoCopy(docker('interop/nested/second:v1'), `oci:${out}:x`);
      const blobs = await verifyLayoutBlobs(out);
      for (const d of app.layerDigests) assert.ok(blobs.has(d), `layer ${d} missing from second repository`);
    }));

  test('copy --all of a multi-arch index keeps the index and both platform manifests', () =>
    withServerLog(reg, async () => {
      await skopeoCopy(`oci:${layout}:multi`, docker('interop/multi:v1'), ['--all']);
      const raw = await skopeoInspectRaw(docker('interop/multi:v1'));
      assert.equal(sha256(raw), multi.digest, 'index digest changed');
      assert.ok(raw.equals(multi.bytes));
      const parsed = JSON.parse(raw.toString('utf8')) as ImageIndex;
      assert.equal(parsed.mediaType, OCI_INDEX);
      for (const child of multi.children) {
        const childRaw = await skopeoInspectRaw(docker(`interop/multi@${child.manifestDigest}`));
        assert.equal(sha256(childRaw), child.manifestDigest, `child ${child.tag} digest changed`);
        assert.ok(childRaw.equals(child.manifestBytes));
      }
      const [amd, arm] = multi.children;
      assert.ok(amd && arm);
      // skopeo inspect of an index reports the index digest and the platform-selected child's config and layers
      const armInfo = await skopeoInspect(docker('interop/multi:v1'), ['--override-arch', 'arm64', '--override-variant', 'v8']);
      assert.equal(armInfo.Digest, multi.digest);
      assert.equal(armInfo.Architecture, 'arm64');
      assert.deepEqual(armInfo.Layers, arm.layerDigests, 'platform selection for arm64 picked the wrong manifest');
      const amdInfo = await skopeoInspect(docker('interop/multi:v1'), ['--override-arch', 'amd64']);
      assert.equal(amdInfo.Architecture, 'amd64');
      assert.deepEqual(amdInfo.Layers, amd.layerDigests, 'platform selection for amd64 picked the wrong manifest');
    }));

  test('copy --all back to an OCI layout reproduces the index and every blob', () =>
    withServerLog(reg, async () => {
      const out = join(work, 'pulled-multi');
      await skopeoCopy(docker('interop/multi:v1'), `oci:${out}:multi`, ['--all']);
      const blobs = await verifyLayoutBlobs(out);
      const top = await resolveRef(out, 'multi');
      assert.equal(top.digest, multi.digest);
      const expected = [multi.digest];
      for (const child of multi.children) expected.push(child.manifestDigest, child.configDigest, ...child.layerDigests);
      assert.deepEqual(sortedCopy(blobs.keys()), sortedCopy(new Set(expected)));
    }));

  test('Docker schema2 (--format v2s2) push and pull back keep layer digests', () =>
    withServerLog(reg, async () => {
      await skopeoCopy(`oci:${layout}:app`, docker('interop/app-v2s2:v1'), ['--format', 'v2s2']);
      const raw = await skopeoInspectRaw(docker('interop/app-v2s2:v1'));
      const manifest = JSON.parse(raw.toString('utf8')) as ImageManifest;
      assert.equal(manifest.mediaType, DOCKER_MANIFEST_V2);
      assert.equal(manifest.config.mediaType, 'application/vnd.docker.container.image.v1+json');
      assert.deepEqual(
        manifest.layers.map((l) => l.digest),
        app.layerDigests,
        'gzip layers must travel unchanged',
      );
      assert.ok(manifest.layers.every((l) => l.mediaType === 'application/vnd.docker.image.rootfs.diff.tar.gzip'));
      const digest = sha256(raw);
      const info = await skopeoInspect(docker('interop/app-v2s2:v1'));
      assert.equal(info.Digest, digest, 'registry digest of the schema2 manifest differs from sha256 of its bytes');
      // dir: keeps the manifest exactly as served
      const out = join(work, 'pulled-v2s2');
      await skopeoCopy(docker('interop/app-v2s2:v1'), `dir:${out}`);
      const copy = await verifyDirCopy(out);
      assert.ok(copy.manifestBytes.equals(raw), 'manifest pulled by skopeo differs from inspect --raw');
      assert.deepEqual(sortedCopy(copy.blobs), sortedCopy([manifest.config.digest, ...app.layerDigests]));
      // and by digest
      assert.ok((await skopeoInspectRaw(docker(`interop/app-v2s2@${digest}`))).equals(raw));
    }));

  test('delete removes the manifest: inspect then fails with manifest unknown', () =>
    withServerLog(reg, async () => {
      await skopeoCopy(`oci:${layout}:small`, docker('interop/del:v1'));
      assert.equal(sha256(await skopeoInspectRaw(docker('interop/del:v1'))), small.manifestDigest);
      await skopeoDelete(docker('interop/del:v1'));
      for (const ref of [docker('interop/del:v1'), docker(`interop/del@${small.manifestDigest}`)]) {
        const res = await skopeoInspectRawFailing(ref);
        assert.notEqual(res.code, 0, `inspect of deleted ${ref} succeeded`);
        assert.match(res.stderr, /manifest unknown/i, `unexpected error for ${ref}`);
      }
      // other repositories are untouched
      assert.equal(sha256(await skopeoInspectRaw(docker('interop/app:v1'))), app.manifestDigest);
    }));
});
