// Real buildah and podman against the registry under test: build from scratch, push in OCI and Docker
// schema2 formats, delete locally, pull back, and compare image IDs, manifest digests and file contents.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tempDir, type RunningRegistry } from '../support/processes.js';
import { withServerLog } from './support/diag.js';
import { sha256, DOCKER_MANIFEST_V2, OCI_INDEX, OCI_MANIFEST, type ImageIndex, type ImageManifest } from './support/oci.js';
import { isolatedContainers, type Containers } from './support/podman.js';
import { skopeoInspectConfig, skopeoInspectRaw } from './support/skopeo.js';
import { startTarget, targetName } from './support/target.js';

const LOCAL = 'localhost/wharf-interop/app:1';

describe(`podman and buildah interop (${targetName()})`, () => {
  let reg: RunningRegistry | undefined;
  let work = '';
  let c: Containers;
  let imageId = '';
  let ociDigest = '';
  let v2s2Digest = '';
  const files = new Map<string, Buffer>();
  const remote = (ref: string): string => `${reg?.host ?? 'unstarted'}/${ref}`;

  async function readDigestFile(path: string): Promise<string> {
    const text = (await readFile(path, 'utf8')).trim();
    assert.match(text, /^sha256:[0-9a-f]{64}$/, `digest file ${path} holds ${JSON.stringify(text)}`);
    return text;
  }

  async function removeAllImages(): Promise<void> {
    await c.podman(['rmi', '--all', '--force']);
    assert.equal(await c.podmanText(['images', '--quiet']), '', 'local images remain after rmi --all');
  }

  /** Mounts the local image read-only (vfs: a plain directory) and compares every file we put in it. */
  async function assertFilesIn(ref: string): Promise<void> {
    const mountpoint = await c.podmanText(['image', 'mount', ref]);
    try {
      for (const [path, data] of files) {
        const got = await readFile(join(mountpoint, path));
        assert.equal(sha256(got), sha256(data), `${path} in ${ref} differs from what was built`);
      }
    } finally {
      await c.podman(['image', 'unmount', ref]);
    }
  }

  async function pulledImage(ref: string): Promise<{ id: string; digest: string; repoDigests: string[] }> {
    const out = await c.podmanText(['image', 'inspect', ref]);
    const parsed = JSON.parse(out) as { Id: string; Digest: string; RepoDigests: string[] }[];
    assert.equal(parsed.length, 1, `podman image inspect ${ref} returned ${parsed.length} entries`);
    const [img] = parsed;
    assert.ok(img);
    return { id: img.Id, digest: img.Digest, repoDigests: img.RepoDigests };
  }

  before(async () => {
    work = await tempDir('interop-podman');
    c = await isolatedContainers(join(work, 'containers'));
    files.set('data/first.bin', randomBytes(300 * 1024));
    files.set('data/second.bin', randomBytes(2 * 1024 * 1024 + 17));
    files.set('etc/motd', Buffer.from(`built by the wharf interop suite ${randomBytes(8).toString('hex')}\n`));
    for (const [path, data] of files) await writeFile(join(work, path.replace(/\//g, '_')), data);
    const src = (path: string): string => join(work, path.replace(/\//g, '_'));

    // two layers: base (first.bin + motd), then second.bin on top
    const base = await c.buildahText(['from', 'scratch']);
    await c.buildah(['copy', base, src('data/first.bin'), '/data/first.bin']);
    await c.buildah(['copy', base, src('etc/motd'), '/etc/motd']);
    await c.buildah(['config', '--arch', 'amd64', '--os', 'linux', '--label', 'org.example.wharf=interop', base]);
    await c.buildah(['commit', '--quiet', '--format', 'oci', base, 'localhost/wharf-interop/base:1']);
    const top = await c.buildahText(['from', 'localhost/wharf-interop/base:1']);
    await c.buildah(['copy', top, src('data/second.bin'), '/data/second.bin']);
    await c.buildah(['commit', '--quiet', '--format', 'oci', top, LOCAL]);
    await c.buildah(['rm', '--all']);
    imageId = await c.podmanText(['image', 'inspect', '--format', '{{.Id}}', LOCAL]);
    assert.match(imageId, /^[0-9a-f]{64}$/);
    reg = await startTarget();
  });

  after(async () => {
    await reg?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  test('buildah push (OCI): registry digest equals the pushed digest, config is the image ID', () =>
    withServerLog(reg, async () => {
      const digestFile = join(work, 'oci.digest');
      await c.buildah(['push', '--quiet', '--tls-verify=false', '--format', 'oci', '--digestfile', digestFile, LOCAL, `docker://${remote('podman/app:oci')}`]);
      ociDigest = await readDigestFile(digestFile);
      const raw = await skopeoInspectRaw(`docker://${remote('podman/app:oci')}`);
      assert.equal(sha256(raw), ociDigest, 'manifest served differs from the one buildah pushed');
      const manifest = JSON.parse(raw.toString('utf8')) as ImageManifest;
      assert.equal(manifest.mediaType, OCI_MANIFEST);
      assert.equal(manifest.config.digest, `sha256:${imageId}`);
      assert.equal(manifest.layers.length, 2);
      const config = await skopeoInspectConfig(`docker://${remote('podman/app:oci')}`);
      assert.equal(sha256(config), `sha256:${imageId}`);
    }));

  test('podman push --format v2s2: Docker schema2 manifest, same config', () =>
    withServerLog(reg, async () => {
      const digestFile = join(work, 'v2s2.digest');
      await c.podman(['push', '--quiet', '--tls-verify=false', '--format', 'v2s2', '--digestfile', digestFile, LOCAL, `docker://${remote('podman/app:v2s2')}`]);
      v2s2Digest = await readDigestFile(digestFile);
      assert.notEqual(v2s2Digest, ociDigest);
      const raw = await skopeoInspectRaw(`docker://${remote('podman/app:v2s2')}`);
      assert.equal(sha256(raw), v2s2Digest);
      const manifest = JSON.parse(raw.toString('utf8')) as ImageManifest;
      assert.equal(manifest.mediaType, DOCKER_MANIFEST_V2);
      assert.equal(manifest.config.digest, `sha256:${imageId}`);
      assert.equal(manifest.layers.length, 2);
    }));

  test('podman pull of the OCI image after deleting it locally: same image ID, digest and files', () =>
    withServerLog(reg, async () => {
      assert.ok(ociDigest, 'OCI push did not happen');
      await removeAllImages();
      const ref = remote('podman/app:oci');
      const pulledId = await c.podmanText(['pull', '--quiet', '--tls-verify=false', ref]);
      assert.equal(pulledId, imageId, 'podman pull reports a different image ID');
      const img = await pulledImage(ref);
      assert.equal(img.id, imageId);
      assert.equal(img.digest, ociDigest);
      assert.ok(img.repoDigests.includes(remote(`podman/app@${ociDigest}`)), `RepoDigests: ${img.repoDigests.join(', ')}`);
      await assertFilesIn(ref);
    }));

  test('podman pull of the schema2 image after deleting it locally: same image ID, digest and files', () =>
    withServerLog(reg, async () => {
      assert.ok(v2s2Digest, 'v2s2 push did not happen');
      await removeAllImages();
      const ref = remote('podman/app:v2s2');
      const pulledId = await c.podmanText(['pull', '--quiet', '--tls-verify=false', ref]);
      assert.equal(pulledId, imageId);
      const img = await pulledImage(ref);
      assert.equal(img.digest, v2s2Digest);
      await assertFilesIn(ref);
      // and by digest
      const byDigest = remote(`podman/app@${v2s2Digest}`);
      await c.podman(['pull', '--quiet', '--tls-verify=false', byDigest]);
      assert.equal((await pulledImage(byDigest)).id, imageId);
    }));

  test('podman manifest push --all: the index and its image land in another repository', () =>
    withServerLog(reg, async () => {
      assert.ok(ociDigest, 'OCI push did not happen');
      const list = 'localhost/wharf-interop/list:1';
      await c.podman(['manifest', 'create', list]);
      await c.podman(['manifest', 'add', '--tls-verify=false', list, `docker://${remote('podman/app:oci')}`]);
      const digestFile = join(work, 'list.digest');
      await c.podman(['manifest', 'push', '--quiet', '--all', '--tls-verify=false', '--digestfile', digestFile, list, `docker://${remote('podman/list:v1')}`]);
      const listDigest = await readDigestFile(digestFile);
      const raw = await skopeoInspectRaw(`docker://${remote('podman/list:v1')}`);
      assert.equal(sha256(raw), listDigest);
      const index = JSON.parse(raw.toString('utf8')) as ImageIndex;
      assert.equal(index.mediaType, OCI_INDEX);
      assert.deepEqual(
        index.manifests.map((m) => m.digest),
        [ociDigest],
      );
      const child = await skopeoInspectRaw(`docker://${remote(`podman/list@${ociDigest}`)}`);
      assert.equal(sha256(child), ociDigest);
      await removeAllImages();
      await c.podman(['pull', '--quiet', '--tls-verify=false', remote('podman/list:v1')]);
      assert.equal((await pulledImage(remote('podman/list:v1'))).id, imageId);
    }));
});
