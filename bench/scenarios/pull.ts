// Pull of the large blob, every byte compared with what was pushed while it arrives.
import { mbPerSecond } from '../stats.js';
import { bigBlob } from './push.js';
import { cpuPerGiB, timedWithCpu, type Scenario } from './types.js';

export const pull: Scenario = {
  id: 'pull',
  title: 'pull one large blob',
  profile: 'open',
  byDefault: true,
  // A pull from page cache takes well under a second, so one is mostly noise.
  rounds: 5,
  metrics: [{ metric: 'pull', unit: 'MB/s', better: 'higher' }, cpuPerGiB],
  targets: [{ metric: 'pull', op: '>=', ratio: 1.3 }],
  async setup(ctx) {
    // Normally the push scenario left it there; with --only pull, push it now (untimed).
    const { repo, blob } = bigBlob(ctx, 0);
    if (!(await ctx.client.hasBlob(repo, blob))) await ctx.client.pushStreamed(repo, blob);
  },
  async run(ctx) {
    const { repo, blob } = bigBlob(ctx, 0);
    let bytes = 0;
    const { ms, cpu } = await timedWithCpu(ctx, blob.size, async () => {
      bytes = await ctx.client.pullBlob(repo, blob);
    });
    return [{ metric: 'pull', unit: 'MB/s', value: mbPerSecond(bytes, ms), better: 'higher' }, ...cpu];
  },
};
