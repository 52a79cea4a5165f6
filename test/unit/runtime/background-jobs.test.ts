import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { resolvePaths, validateConfig } from '../../../src/config/load.js';
import { openRegistry } from '../../../src/registry/registry.js';
import { BackgroundJobs, repeating, type BackgroundJob } from '../../../src/runtime/background-jobs.js';

const silent = pino({ level: 'silent' });
const timers = () => process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length;

describe('background jobs', () => {
  it('a repeating job times each pass from the end of the last, and stop() waits for the pass in flight', async () => {
    let passes = 0;
    let running = 0;
    let overlapped = false;
    let release: () => void = () => undefined;
    const job = repeating('test', { interval: 1, runAtStart: true }, async () => {
      passes++;
      overlapped ||= running > 0;
      running++;
      await new Promise<void>((resolve) => (release = resolve));
      running--;
    });
    job.start();
    while (passes < 1) await new Promise((r) => setTimeout(r, 1));
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(passes, 1, 'no second pass while the first is in flight');
    const stopped = job.stop();
    let done = false;
    void stopped.then(() => (done = true));
    await new Promise((r) => setTimeout(r, 5));
    assert.equal(done, false, 'stop() waits for the pass');
    release();
    await stopped;
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(passes, 1, 'nothing runs after stop()');
    assert.equal(overlapped, false);
  });

  it('jobs start in the order added and stop in reverse; one failing to stop does not keep the others running', async () => {
    const order: string[] = [];
    const job = (name: string, fails = false): BackgroundJob => ({
      name,
      start: () => order.push(`start ${name}`),
      stop: async () => {
        order.push(`stop ${name}`);
        if (fails) throw new Error('stuck');
      },
    });
    const jobs = new BackgroundJobs(silent);
    jobs.add(job('a'));
    jobs.add(null);
    jobs.add(job('b', true));
    jobs.add(job('c'));
    await jobs.stopAll();
    assert.deepEqual(order, [], 'nothing to stop before start');
    jobs.startAll();
    await jobs.stopAll();
    assert.deepEqual(order, ['start a', 'start b', 'start c', 'stop c', 'stop b', 'stop a']);
  });

  it('opening a registry (what the one-shot commands do) starts no timer, even with GC and scrub enabled', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'wharf-jobs-'));
    try {
      const before = timers();
      const config = resolvePaths(validateConfig({ storage: { dataDir: dir }, gc: { enabled: true }, fsck: { scrub: { enabled: true } } }, 'test'));
      const registry = openRegistry(config, silent);
      assert.equal(timers(), before);
      assert.equal(registry.scrubber.running, false);
      await registry.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
