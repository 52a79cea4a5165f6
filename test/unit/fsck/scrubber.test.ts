import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { runFsck } from '../../../src/fsck/fsck.js';
import { Scrubber, type ScrubObserver } from '../../../src/fsck/scrubber.js';
import { Throttle } from '../../../src/fsck/throttle.js';
import type { ProblemKind } from '../../../src/fsck/types.js';
import { FakeClock, fixture, type Fixture } from './support.js';

class Counting implements ScrubObserver {
  bytes = 0;
  readonly problems: ProblemKind[] = [];
  checked(bytes: number): void {
    this.bytes += bytes;
  }
  problem(kind: ProblemKind): void {
    this.problems.push(kind);
  }
}

describe('background scrub', () => {
  let f: Fixture;
  let clock: FakeClock;
  let observer: Counting;
  const scrubber = (rate = 1000, interval = 60_000) => new Scrubber(f.reg, { rate, interval }, observer, clock);

  beforeEach(async () => {
    f = await fixture();
    clock = new FakeClock();
    observer = new Counting();
  });
  afterEach(async () => {
    await f.close();
  });

  test('finds a corrupt blob and a missing one, logs and counts them, and repairs nothing', async () => {
    const a = await f.image('app', 'v1');
    const b = await f.image('app', 'v2');
    const bad = await f.corrupt(a.layers[0]!);
    await f.remove(b.config);
    const round = await scrubber(0).round();
    assert.deepEqual(
      round.problems.map((p) => [p.kind, p.digest]).sort(),
      [
        ['corrupt', a.layers[0]],
        ['missing', b.config],
      ].sort(),
    );
    assert.deepEqual([...observer.problems].sort(), ['corrupt', 'missing']);
    assert.equal(round.blobs, 4);
    assert.equal(round.manifests, 2);
    assert.ok(round.problems.every((p) => p.repair === undefined));
    assert.deepEqual(await readFile(f.file(a.layers[0]!)), bad, 'the scrub never repairs');
    assert.ok(await f.reg.metadata.getBlob(a.layers[0]!));
    assert.ok(await f.reg.metadata.getBlob(b.config));
  });

  test('reads at the configured rate: every blob byte and manifest byte is paid for in (virtual) time', async () => {
    const a = await f.image('app', 'v1', [randomBytes(3000), randomBytes(5000)]);
    await f.blob('app', randomBytes(2000));
    const stats = await f.reg.metadata.stats();
    const start = clock.now();
    const round = await scrubber(1000).round();
    assert.equal(observer.bytes, stats.blobBytes, 'every recorded byte was hashed');
    assert.equal(round.bytes, stats.blobBytes);
    const expectedMs = ((stats.blobBytes + a.size) * 1000) / 1000;
    assert.ok(Math.abs(clock.now() - start - expectedMs) < 1, `expected ${expectedMs} ms of pacing, got ${clock.now() - start}`);
    assert.ok(clock.sleeps.length >= 4, 'it yields between blobs, not only once at the end');
    assert.ok(Math.max(...clock.sleeps) <= 5000 + 1, 'no sleep longer than one blob costs');
  });

  test('stop() interrupts a round; the next one resumes after the last blob finished', async () => {
    const digests: string[] = [];
    for (let i = 0; i < 6; i++) digests.push((await f.blob('app', randomBytes(100))).digest);
    digests.sort();
    const s = scrubber(1000, 10);
    let stopping: Promise<void> | null = null;
    clock.onSleep = () => {
      // One sleep per blob (each is one chunk): stop while the third blob is being paid for.
      if (clock.sleeps.length === 3) stopping = s.stop();
    };
    s.start();
    assert.ok(s.running);
    await new Promise<void>((resolve) => {
      const wait = () => (stopping ? resolve() : setImmediate(wait));
      wait();
    });
    await stopping;
    assert.equal(s.running, false);
    assert.equal(s.position, digests[1], 'two blobs finished; the third is checked again next time');
    clock.onSleep = null;
    const listed: (string | undefined)[] = [];
    const original = f.reg.metadata.listBlobs.bind(f.reg.metadata);
    f.reg.metadata.listBlobs = async (page) => {
      listed.push(page.last);
      return original(page);
    };
    const rest = await s.round();
    assert.equal(rest.from, digests[1]);
    assert.equal(listed[0], digests[1]);
    assert.equal(rest.blobs, 4);
    assert.equal(s.position, '', 'a finished round starts the next from the beginning');
    assert.equal((await s.round()).blobs, 6);
  });

  test('runs round after round with the interval in between, until stopped', async () => {
    await f.image('app', 'v1');
    const s = scrubber(0, 3_600_000);
    let stopping: Promise<void> | null = null;
    clock.onSleep = (ms) => {
      if (ms === 3_600_000 && clock.sleeps.filter((x) => x === 3_600_000).length === 2) stopping = s.stop();
    };
    s.start();
    s.start(); // idempotent
    await new Promise<void>((resolve) => {
      const wait = () => (stopping ? resolve() : setImmediate(wait));
      wait();
    });
    await stopping;
    assert.deepEqual(clock.sleeps, [3_600_000, 3_600_000], 'two rounds, unthrottled, each followed by the interval');
    await s.stop(); // stopping twice is fine
  });

  test('a round that fails is logged and retried after the interval; the scrub keeps going', async () => {
    await f.image('app', 'v1');
    const s = scrubber(0, 1000);
    const original = f.reg.metadata.listBlobs.bind(f.reg.metadata);
    let calls = 0;
    f.reg.metadata.listBlobs = async (page) => {
      calls++;
      if (calls === 1) throw new Error('database is locked');
      return original(page);
    };
    let stopping: Promise<void> | null = null;
    clock.onSleep = () => {
      if (clock.sleeps.length === 2) stopping = s.stop();
    };
    s.start();
    await new Promise<void>((resolve) => {
      const wait = () => (stopping ? resolve() : setImmediate(wait));
      wait();
    });
    await stopping;
    assert.ok(calls >= 2, 'the second round ran');
    assert.equal(observer.bytes, (await f.reg.metadata.stats()).blobBytes);
  });
});

describe('fsck and the scrub on a busy registry', () => {
  let f: Fixture;
  beforeEach(async () => {
    f = await fixture();
  });
  afterEach(async () => {
    await f.close();
  });

  test('pushes, re-tags and GC passes running alongside report no false problems', async () => {
    const observer = new Counting();
    // Real time, unthrottled, back-to-back rounds: as many chances as possible to catch a push or a GC half way.
    const s = new Scrubber(f.reg, { rate: 0, interval: 0 }, observer);
    let stop = false;
    let pushed = 0;
    let collected = 0;
    const pusher = async (repo: string) => {
      for (let i = 0; !stop; i++) {
        await f.image(repo, `t${i % 3}`).then(() => pushed++).catch((err: Error) => {
          // GC may take a blob between its upload and the manifest push (a 100 ms grace here): a client retries.
          if (!/MANIFEST_BLOB_UNKNOWN|unknown to this repository/.test(`${(err as { code?: string }).code} ${err.message}`)) throw err;
        });
      }
    };
    const collector = async () => {
      while (!stop) {
        collected += (await f.reg.gc.run({ deleteUntagged: true, dryRun: false, gracePeriod: 100, trigger: 'cli' })).blobsDeleted;
        await new Promise((r) => setTimeout(r, 5));
      }
    };
    const fscks = async () => {
      const problems = [];
      while (!stop) {
        problems.push(...(await runFsck(f.reg, { orphans: false })).problems);
        await new Promise((r) => setImmediate(r)); // on an empty registry a run is all microtasks
      }
      return problems;
    };
    s.start();
    const work = Promise.allSettled([pusher('a'), pusher('b'), collector(), fscks()]);
    await new Promise((r) => setTimeout(r, 1500));
    stop = true;
    const results = await work;
    await s.stop();
    for (const r of results) if (r.status === 'rejected') throw r.reason;
    const fsckProblems = (results[3] as PromiseFulfilledResult<unknown[]>).value;
    assert.deepEqual(fsckProblems, [], 'fsck found nothing wrong');
    assert.deepEqual(observer.problems, [], 'the scrub found nothing wrong');
    assert.ok(observer.bytes > 0, 'the scrub did run');
    assert.ok(pushed > 5 && collected > 5, `pushes (${pushed}) and GC deletions (${collected}) happened meanwhile`);
    // And once everything is quiet, a full fsck (orphans included) is clean too.
    assert.deepEqual((await runFsck(f.reg)).problems, []);
  });
});

describe('throttle', () => {
  test('pays for each chunk at the rate, saves no credit while idle, and 0 means unlimited', async () => {
    const clock = new FakeClock();
    const t = new Throttle(1000, clock);
    await t.take(500);
    await t.take(500);
    assert.deepEqual(clock.sleeps, [500, 500]);
    clock.t += 60_000; // idle for a minute: no burst afterwards
    await t.take(2000);
    assert.deepEqual(clock.sleeps, [500, 500, 2000]);
    const unlimited = new Throttle(0, clock);
    await unlimited.take(1e9);
    assert.equal(clock.sleeps.length, 3);
  });

  test('an abort interrupts the wait', async () => {
    const controller = new AbortController();
    const clock = new FakeClock();
    clock.onSleep = () => controller.abort(new Error('stopped'));
    await assert.rejects(new Throttle(10, clock).take(100, controller.signal), /stopped/);
  });
});
