// Push of one large blob the way docker pushes a layer: POST, a single streamed PATCH, PUT ?digest.
import type { BlobData } from '../content.js';
import { mbPerSecond } from '../stats.js';
import { cpuPerGiB, repoName, timedWithCpu, type Scenario, type ScenarioContext } from './types.js';

/** The big blob of a round; shared with the pull scenario, which reads round 0's. */
export function bigBlob(ctx: ScenarioContext, round: number): { repo: string; blob: BlobData } {
  return { repo: repoName(ctx, 'big'), blob: ctx.content.blob(`big/${round}`, ctx.sizes.bigBlob) };
}

export const push: Scenario = {
  id: 'push',
  title: 'push one large blob',
  profile: 'open',
  byDefault: true,
  rounds: 3,
  metrics: [{ metric: 'push', unit: 'MB/s', better: 'higher' }, cpuPerGiB],
  targets: [{ metric: 'push', op: '>=', ratio: 1.5 }],
  async run(ctx) {
    const { repo, blob } = bigBlob(ctx, ctx.round);
    blob.digest(); // hashed before the clock starts; both registries reuse it
    const { ms, cpu } = await timedWithCpu(ctx, blob.size, () => ctx.client.pushStreamed(repo, blob));
    // Untimed proof the bytes were kept, not just acknowledged: read them all back.
    await ctx.client.pullBlob(repo, blob);
    return [{ metric: 'push', unit: 'MB/s', value: mbPerSecond(blob.size, ms), better: 'higher' }, ...cpu];
  },
};
