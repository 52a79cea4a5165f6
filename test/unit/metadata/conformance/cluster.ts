// Conformance, several nodes on one store: claims on webhook queue heads (claimDueDeliveries) and leases on
// cluster-wide jobs (JobLeaseStore). Two store instances on one database play two nodes where the fixture can
// open one (openPeer); otherwise the one store plays both, told apart by the holder names.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Delivery, MetadataStore } from '../../../../src/metadata/store.js';
import { ev, later, type StoreFixture } from './support.js';

const payloads = (list: Delivery[]) => list.map((x) => x.payload);

/** Runs `fn` with two nodes' stores on the current fixture's database; the peer is closed afterwards. */
async function withNodes(fixture: () => StoreFixture, fn: (a: MetadataStore, b: MetadataStore) => Promise<void>): Promise<void> {
  const fx = fixture();
  const peer = fx.openPeer ? await fx.openPeer() : null;
  try {
    await fn(fx.store, peer ?? fx.store);
  } finally {
    await peer?.close();
  }
}

/** Polls `attempt` until it returns something, for at most `ms`. */
async function eventually<T>(ms: number, attempt: () => Promise<T | null>): Promise<T | null> {
  const deadline = Date.now() + ms;
  for (;;) {
    const got = await attempt();
    if (got !== null || Date.now() > deadline) return got;
    await new Promise((r) => setTimeout(r, 10));
  }
}

export function clusterContract(fixture: () => StoreFixture): void {
  test('cluster: a claimed queue head goes to one node; the next event of its repository waits for it to be delivered', async () => {
    await withNodes(fixture, async (a, b) => {
      await a.appendEvents([ev('r1', 1, ['h']), ev('r1', 2, ['h']), ev('r2', 3, ['h']), ev('r3', 4, ['h'])]);
      const mine = await a.claimDueDeliveries('h', 'node-a', later(), 2, 60_000);
      assert.deepEqual(payloads(mine), ['{"n":1}', '{"n":3}'], 'the oldest heads, up to the limit');
      assert.deepEqual(payloads(await b.claimDueDeliveries('h', 'node-b', later(), 10, 60_000)), ['{"n":4}'], 'what A holds is not handed out again');
      assert.deepEqual(await b.claimDueDeliveries('h', 'node-b', later(), 10, 60_000), [], 'r1:2 waits behind r1:1, claimed or not');
      assert.deepEqual(payloads(await b.dueDeliveries('h', later(), 10)), ['{"n":1}', '{"n":3}', '{"n":4}'], 'dueDeliveries still shows every head');
      await a.markDelivered('h', mine[0]!.eventId);
      assert.deepEqual(payloads(await b.claimDueDeliveries('h', 'node-b', later(), 10, 60_000)), ['{"n":2}'], 'delivered: the next one is free');
      assert.deepEqual(await a.claimDueDeliveries('other', 'node-a', later(), 10, 60_000), [], 'claims are per endpoint');
    });
  });

  test('cluster: an expired claim is claimable again (at least once), and a failed delivery is free for its retry', async () => {
    await withNodes(fixture, async (a, b) => {
      await a.appendEvents([ev('r', 1, ['h']), ev('s', 2, ['h'])]);
      const [first, second] = await a.claimDueDeliveries('h', 'node-a', later(), 10, 150);
      assert.ok(first && second);
      assert.deepEqual(await b.claimDueDeliveries('h', 'node-b', later(), 10, 60_000), []);
      await a.markFailed('h', second.eventId, 'HTTP 503', Date.now());
      const retry = await b.claimDueDeliveries('h', 'node-b', later(), 10, 60_000);
      assert.deepEqual(payloads(retry), ['{"n":2}'], 'markFailed ends the claim: the retry is anyone\'s when due');
      assert.equal(retry[0]!.attempts, 1);
      // Node A went quiet: once its claim on r:1 expires, B takes it over.
      const taken = await eventually(10_000, async () => {
        const got = await b.claimDueDeliveries('h', 'node-b', later(), 10, 60_000);
        return got.length > 0 ? got : null;
      });
      assert.deepEqual(payloads(taken ?? []), ['{"n":1}']);
    });
  });

  test('cluster: two nodes claiming at once deliver every event once, each repository in order', async () => {
    await withNodes(fixture, async (a, b) => {
      const repos = 12;
      const perRepo = 4;
      for (let i = 0; i < perRepo; i++) {
        await a.appendEvents(Array.from({ length: repos }, (_, r) => ev(`r${r}`, r * 100 + i, ['h'])));
      }
      const delivered: { node: string; repository: string; n: number }[] = [];
      const node = async (store: MetadataStore, name: string) => {
        for (let idle = 0; idle < 3; ) {
          const got = await store.claimDueDeliveries('h', name, later(), 5, 60_000);
          if (got.length === 0) {
            idle++;
            await new Promise((r) => setTimeout(r, 5));
            continue;
          }
          idle = 0;
          for (const x of got) {
            delivered.push({ node: name, repository: x.repository, n: (JSON.parse(x.payload) as { n: number }).n });
            await store.markDelivered('h', x.eventId);
          }
        }
      };
      await Promise.all([node(a, 'node-a'), node(b, 'node-b')]);
      assert.equal(delivered.length, repos * perRepo, 'every event delivered once');
      assert.equal(new Set(delivered.map((x) => x.n)).size, repos * perRepo, 'no event twice');
      for (let r = 0; r < repos; r++) {
        const order = delivered.filter((x) => x.repository === `r${r}`).map((x) => x.n);
        assert.deepEqual(order, [0, 1, 2, 3].map((i) => r * 100 + i), `r${r} in order`);
      }
      assert.deepEqual(await a.deliveryStats(), []);
    });
  });

  test('cluster: a job lease has one holder at a time; it is renewed, released, and taken over once expired', async () => {
    await withNodes(fixture, async (a, b) => {
      assert.equal(await a.tryAcquireJobLease('gc', 'node-a', 60_000), true);
      assert.equal(await b.tryAcquireJobLease('gc', 'node-b', 60_000), false, 'held by A');
      assert.equal(await b.tryAcquireJobLease('scrub', 'node-b', 60_000), true, 'leases are per job');
      assert.equal(await a.tryAcquireJobLease('gc', 'node-a', 60_000), true, 'the holder may take it again (extends it)');
      assert.equal(await a.renewJobLease('gc', 'node-a', 60_000), true);
      assert.equal(await b.renewJobLease('gc', 'node-b', 60_000), false, 'only the holder renews');
      await b.releaseJobLease('gc', 'node-b'); // not B's: nothing happens
      assert.equal(await b.tryAcquireJobLease('gc', 'node-b', 60_000), false);
      await a.releaseJobLease('gc', 'node-a');
      assert.equal(await b.tryAcquireJobLease('gc', 'node-b', 150), true, 'released: free at once');
      assert.equal(await a.tryAcquireJobLease('gc', 'node-a', 60_000), false);
      const taken = await eventually(10_000, async () => ((await a.tryAcquireJobLease('gc', 'node-a', 60_000)) ? true : null));
      assert.equal(taken, true, 'B stopped renewing: A takes over once it expires');
      assert.equal(await b.renewJobLease('gc', 'node-b', 60_000), false, 'B learns it lost the lease');
    });
  });
}
