// Many small writes: distinct 4 KiB blobs (monolithic POST + PUT) and the manifests referencing them, spread over
// repositories, with a fixed number of pushes in flight. Each "image" is pushed like a client does: blobs, then
// its manifest, so manifests always reference blobs that exist.
import type { BlobData } from '../content.js';
import { imageConfig, imageManifest } from '../oci.js';
import { inParallel, repoName, type Scenario, type ScenarioContext } from './types.js';

interface Image {
  readonly repo: string;
  readonly tag: string;
  readonly blobs: readonly BlobData[];
  readonly manifest: Buffer;
}

/** Builds (untimed) the images of a round: each has one 4 KiB config plus 4 KiB layers, smallBlobs in total. */
function images(ctx: ScenarioContext): Image[] {
  const { smallBlobs, smallManifests, smallRepos, smallBlobSize } = ctx.sizes;
  const perImage = smallBlobs / smallManifests;
  if (!Number.isInteger(perImage) || perImage < 2) throw new Error('smallBlobs must be a multiple (≥ 2×) of smallManifests');
  return Array.from({ length: smallManifests }, (_, i) => {
    const key = `small/${ctx.round}/${i}`;
    const layers = Array.from({ length: perImage - 1 }, (_, j) => ctx.content.blob(`${key}/${j}`, smallBlobSize));
    const config = ctx.content.bytes(imageConfig(layers, `${ctx.content.runId}/${key}`, smallBlobSize));
    return { repo: repoName(ctx, `small-${i % smallRepos}`), tag: `r${ctx.round}-i${i}`, blobs: [config, ...layers], manifest: imageManifest(config, layers) };
  });
}

export const smallBlobs: Scenario = {
  id: 'small',
  title: 'small blobs + manifests',
  profile: 'open',
  byDefault: true,
  rounds: 3,
  metrics: [{ metric: 'small ops', unit: 'ops/s', better: 'higher' }],
  targets: [{ metric: 'small ops', op: '>=', ratio: 3 }],
  async run(ctx) {
    const list = images(ctx);
    const ops = list.reduce((n, img) => n + img.blobs.length + 1, 0);
    const { client } = ctx;
    // Each of the `smallConcurrency` workers pushes whole images one after another, so that many operations are
    // always in flight and a manifest is only sent once its own blobs are in.
    const ms = await ctx.timed(() =>
      inParallel(list.length, ctx.sizes.smallConcurrency, async (i) => {
        const img = list[i]!;
        for (const blob of img.blobs) await client.pushMonolithic(img.repo, blob);
        await client.putManifest(img.repo, img.tag, img.manifest);
      }),
    );
    // Untimed proof the writes happened: every manifest by tag and every blob, byte for byte.
    await inParallel(list.length, ctx.sizes.smallConcurrency, async (i) => {
      const img = list[i]!;
      await client.getManifest(img.repo, img.tag, img.manifest);
      for (const blob of img.blobs) await client.pullBlob(img.repo, blob);
    });
    return [{ metric: 'small ops', unit: 'ops/s', value: ops / (ms / 1000), better: 'higher' }];
  },
};
