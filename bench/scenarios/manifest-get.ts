// Manifest GET by tag under load: `getConcurrency` loops hammering a set of tagged images for a fixed time.
// A warm-up at the same concurrency (connections opened, caches and JITs warm) runs first and is not counted.
// Every response is compared byte for byte with the pushed manifest; one wrong answer fails the run.
import type { BlobData } from '../content.js';
import { imageConfig, imageManifest } from '../oci.js';
import { Latencies } from '../stats.js';
import { repoName, type Profile, type Scenario, type ScenarioContext, type Target } from './types.js';

interface Tagged {
  readonly repo: string;
  readonly tag: string;
  readonly manifest: Buffer;
  readonly blobs: readonly BlobData[];
}

function images(ctx: ScenarioContext): Tagged[] {
  return Array.from({ length: ctx.sizes.getImages }, (_, i) => {
    const layers = [0, 1].map((j) => ctx.content.blob(`get/${i}/${j}`, 4096));
    const config = ctx.content.bytes(imageConfig(layers, `${ctx.content.runId}/get/${i}`, 1024));
    return { repo: repoName(ctx, `get-${i}`), tag: 'latest', manifest: imageManifest(config, layers), blobs: [config, ...layers] };
  });
}

/** Issues GETs round-robin over the images until `until` (performance.now() ms); records each duration. */
async function hammer(ctx: ScenarioContext, list: readonly Tagged[], until: number, lat?: Latencies): Promise<void> {
  let next = 0;
  const loop = async (): Promise<void> => {
    while (performance.now() < until) {
      const img = list[next++ % list.length]!;
      const t0 = performance.now();
      await ctx.client.getManifest(img.repo, img.tag, img.manifest);
      lat?.add(performance.now() - t0);
    }
  };
  await Promise.all(Array.from({ length: ctx.sizes.getConcurrency }, loop));
}

/** The auth figure only means something if anonymous and wrong-password requests are really refused. */
async function requireAuth(ctx: ScenarioContext): Promise<void> {
  const anonymous = await ctx.client.statusWithout('/v2/');
  const wrong = await ctx.client.statusWithout('/v2/', { username: 'bench', password: 'not-the-password' });
  if (anonymous !== 401 || wrong !== 401) throw new Error(`auth is not on: GET /v2/ gave ${anonymous} without credentials and ${wrong} with a wrong password (expected 401)`);
}

function manifestGet(id: string, title: string, profile: Profile, byDefault: boolean, targets: Target[]): Scenario {
  return {
    id,
    title,
    profile,
    byDefault,
    rounds: 1,
    metrics: [
      { metric: 'GET', unit: 'req/s', better: 'higher' },
      { metric: 'GET p50', unit: 'ms', better: 'lower' },
      { metric: 'GET p99', unit: 'ms', better: 'lower' },
    ],
    targets,
    async setup(ctx) {
      if (profile === 'auth') await requireAuth(ctx);
      await Promise.all(
        images(ctx).map(async (img) => {
          for (const blob of img.blobs) await ctx.client.pushMonolithic(img.repo, blob);
          await ctx.client.putManifest(img.repo, img.tag, img.manifest);
        }),
      );
    },
    async run(ctx) {
      const list = images(ctx);
      await hammer(ctx, list, performance.now() + ctx.sizes.getWarmupMs);
      const lat = new Latencies();
      const ms = await ctx.timed(() => hammer(ctx, list, performance.now() + ctx.sizes.getDurationMs, lat));
      const [p50 = NaN, p99 = NaN] = lat.percentiles(50, 99);
      return [
        { metric: 'GET', unit: 'req/s', value: lat.count / (ms / 1000), better: 'higher' },
        { metric: 'GET p50', unit: 'ms', value: p50, better: 'lower' },
        { metric: 'GET p99', unit: 'ms', value: p99, better: 'lower' },
      ];
    },
  };
}

export const manifestGetOpen = manifestGet('get', 'manifest GET by tag', 'open', true, [
  { metric: 'GET', op: '>=', ratio: 5 },
  { metric: 'GET p99', op: '<=', ratio: 1 / 3 },
]);

/** The later issue's figure: same load with htpasswd auth on both (bcrypt cost 5) and Basic credentials sent. */
export const manifestGetAuth = manifestGet('get-auth', 'manifest GET by tag, htpasswd auth', 'auth', true, [{ metric: 'GET', op: '>=', ratio: 15 }]);
