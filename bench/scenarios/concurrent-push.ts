// Several chunked pushes at once (POST, PATCH per chunk with Content-Range, PUT ?digest), each into its own
// repository: what a CI fleet pushing layers at the same time looks like. Throughput is all bytes over wall time.
import { mbPerSecond } from '../stats.js';
import { cpuPerGiB, inParallel, repoName, timedWithCpu, type Scenario } from './types.js';

export const concurrentPush: Scenario = {
  id: 'concurrent',
  title: 'concurrent chunked pushes',
  profile: 'open',
  byDefault: true,
  rounds: 3,
  metrics: [{ metric: 'concurrent push', unit: 'MB/s', better: 'higher' }, cpuPerGiB],
  targets: [{ metric: 'concurrent push', op: '>=', ratio: 1.2 }],
  async run(ctx) {
    const { concurrentPushes, concurrentBlob, concurrentChunk } = ctx.sizes;
    const jobs = Array.from({ length: concurrentPushes }, (_, i) => ({
      repo: repoName(ctx, `concurrent-${i}`),
      blob: ctx.content.blob(`concurrent/${ctx.round}/${i}`, concurrentBlob),
    }));
    for (const j of jobs) j.blob.digest(); // before the clock starts
    const { ms, cpu } = await timedWithCpu(ctx, concurrentPushes * concurrentBlob, () => Promise.all(jobs.map((j) => ctx.client.pushChunked(j.repo, j.blob, concurrentChunk))).then(() => undefined));
    // Untimed: read every pushed blob back and compare it byte for byte.
    await inParallel(jobs.length, 2, async (i) => {
      await ctx.client.pullBlob(jobs[i]!.repo, jobs[i]!.blob);
    });
    return [{ metric: 'concurrent push', unit: 'MB/s', value: mbPerSecond(concurrentPushes * concurrentBlob, ms), better: 'higher' }, ...cpu];
  },
};
