// Real skopeo pushes in parallel into a registry with maxConcurrentUploads: 2 (Distribution setups set small
// limits): each skopeo uploads several layers at once, so uploads exceed the limit; they wait for a slot
// (registry.uploadQueueTimeout) instead of failing with 429, and every image arrives whole.
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { startWharf, tempDir, type RunningRegistry } from '../support/processes.js';
import { buildImage } from './support/oci.js';
import { skopeoCopy, skopeoInspect } from './support/skopeo.js';

const KiB = 1024;

test('three skopeo pushes of six layers each, in parallel, through two upload slots', async () => {
  const work = await tempDir('behave-upload-queue');
  let wharf: RunningRegistry | undefined;
  try {
    const layout = join(work, 'oci');
    const layers = Array.from({ length: 6 }, (_, i) => ({ files: [{ path: `l${i}.bin`, size: 256 * KiB + i }] }));
    const image = await buildImage(layout, 'many', layers);
    wharf = await startWharf({
      port: 25990 + Math.floor(Math.random() * 9),
      configYaml: ['registry:', '  maxConcurrentUploads: 2', '  uploadQueueTimeout: 30s'].join('\n'),
    });
    const host = wharf.host;
    await Promise.all(['a', 'b', 'c'].map((r) => skopeoCopy(`oci:${layout}:many`, `docker://${host}/queue/${r}:v1`)));
    for (const r of ['a', 'b', 'c']) {
      const pushed = await skopeoInspect(`docker://${host}/queue/${r}:v1`);
      assert.equal(pushed.Layers?.length, image.layerDigests.length, `queue/${r} has every layer`);
    }
    const refused = wharf.output().split('\n').filter((l) => l.includes('"status":429'));
    assert.deepEqual(refused, [], 'no upload was refused');
  } finally {
    await wharf?.stop();
    await rm(work, { recursive: true, force: true });
  }
});
