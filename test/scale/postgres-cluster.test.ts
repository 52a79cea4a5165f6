// Several Wharf nodes on one PostgreSQL (scripts/with-services.sh starts it), for the work that must not be done
// twice: two real webhook dispatchers on two stores deliver every event to a real HTTP receiver once, each
// repository in order, retries included; and two nodes' background jobs under the cluster lease never run at once,
// with another node taking over once the holder stops or dies.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { pino } from 'pino';
import { WebhookDispatcher } from '../../src/events/dispatcher.js';
import { buildEvent } from '../../src/events/event.js';
import { webhookEndpointSchema } from '../../src/events/config.js';
import { PostgresMetadataStore } from '../../src/metadata/postgres/store.js';
import type { MetadataStore } from '../../src/metadata/store.js';
import { Metrics } from '../../src/metrics/metrics.js';
import { repeating } from '../../src/runtime/background-jobs.js';
import { exclusive } from '../../src/runtime/exclusive-job.js';
import { freshSchema } from './postgres-database.js';

const log = pino({ level: 'silent' });

async function withNodes(n: number, fn: (stores: MetadataStore[]) => Promise<void>): Promise<void> {
  const db = await freshSchema();
  const stores = Array.from({ length: n }, () => new PostgresMetadataStore({ url: db.url, poolSize: 4 }));
  try {
    await fn(stores);
  } finally {
    await Promise.all(stores.map((s) => s.close()));
    await db.drop();
  }
}

const until = async (what: string, ms: number, check: () => boolean) => {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

test('two nodes’ webhook dispatchers deliver each event once, each repository in order, retries on either node', async () => {
  const received: { tag: string; ok: boolean }[] = [];
  const failedOnce = new Set<string>();
  const receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c));
    req.on('end', () => {
      const tag = (JSON.parse(body) as { events: { target: { tag: string } }[] }).events[0]!.target.tag;
      // Every fifth event fails on its first attempt: its retry may come from either node, and must still keep order.
      const fail = Number(tag.split('-')[1]) % 5 === 0 && !failedOnce.has(tag);
      if (fail) failedOnce.add(tag);
      received.push({ tag, ok: !fail });
      res.writeHead(fail ? 503 : 200).end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
  const endpoint = webhookEndpointSchema.parse({ name: 'hook', url, timeout: '5s' });
  try {
    await withNodes(2, async (stores) => {
      const repos = 6;
      const per = 10;
      const origin = { requestId: 'r', addr: '127.0.0.1', host: 'h', method: 'PUT', userAgent: 'test', actor: null };
      const dispatchers = stores.map(
        (s) =>
          new WebhookDispatcher({ endpoints: [endpoint], maxAttempts: 5, initialBackoff: 10, maxBackoff: 50, pollInterval: 10 }, s, log, new Metrics(s)),
      );
      for (const d of dispatchers) d.start();
      try {
        for (let i = 0; i < per; i++) {
          for (let r = 0; r < repos; r++) {
            const event = buildEvent('push', { repository: `r${r}`, digest: `sha256:${'0'.repeat(64)}`, tag: `r${r}-${i}` }, origin);
            // Appended through both nodes, as pushes landing on either would be.
            await stores[(i + r) % 2]!.appendEvents([{ repository: `r${r}`, payload: JSON.stringify(event), endpoints: ['hook'] }]);
          }
        }
        await until('every event delivered', 60_000, () => received.filter((x) => x.ok).length >= repos * per);
        await new Promise((r) => setTimeout(r, 300)); // a duplicate, if any, would arrive meanwhile
      } finally {
        await Promise.all(dispatchers.map((d) => d.stop()));
      }
      const ok = received.filter((x) => x.ok).map((x) => x.tag);
      assert.equal(ok.length, repos * per, 'no event delivered twice');
      assert.equal(new Set(ok).size, repos * per);
      assert.ok(failedOnce.size >= repos * 2, 'retries happened');
      for (let r = 0; r < repos; r++) {
        const order = received.filter((x) => x.tag.startsWith(`r${r}-`)).map((x) => x.tag);
        const expected = Array.from({ length: per }, (_, i) => `r${r}-${i}`).flatMap((t) => (failedOnce.has(t) ? [t, t] : [t]));
        assert.deepEqual(order, expected, `r${r}: in order, a retried event before the next one`);
      }
      assert.deepEqual(await stores[0]!.deliveryStats(), []);
    });
  } finally {
    await new Promise((r) => receiver.close(r));
  }
});

test('two nodes’ background jobs under the cluster lease never run at once; another node takes over', async () => {
  await withNodes(2, async (stores) => {
    let runningNow = 0;
    let most = 0;
    const passes = { a: 0, b: 0 };
    const job = (node: 'a' | 'b') =>
      repeating('gc', { interval: 5, runAtStart: true }, async () => {
        runningNow++;
        most = Math.max(most, runningNow);
        passes[node]++;
        await new Promise((r) => setTimeout(r, 5));
        runningNow--;
      });
    const ttlMs = 300;
    const a = exclusive(job('a'), stores[0]!, log, { ttlMs, holder: 'node-a' });
    const b = exclusive(job('b'), stores[1]!, log, { ttlMs, holder: 'node-b' });
    a.start();
    await until('node a runs the job', 10_000, () => passes.a > 0);
    b.start();
    await new Promise((r) => setTimeout(r, ttlMs * 2)); // several lease periods: A renews, B keeps trying
    assert.equal(passes.b, 0, 'B never ran while A held the lease');
    assert.ok(passes.a > 5, 'A kept running its passes');
    await a.stop(); // releases the lease
    await until('node b takes over', 10_000, () => passes.b > 0);
    await b.stop();
    assert.equal(most, 1, 'never two passes at once');

    // A node that dies holding the lease (no release): the others wait for it to expire, then one takes over.
    assert.equal(await stores[0]!.tryAcquireJobLease('gc', 'dead-node', ttlMs), true);
    const takenAt = Date.now();
    const before = passes.b;
    const c = exclusive(job('b'), stores[1]!, log, { ttlMs, holder: 'node-c' });
    c.start();
    await until('the lease expires and node c runs', 10_000, () => passes.b > before);
    assert.ok(Date.now() - takenAt >= ttlMs - 50, 'not before the dead node’s lease expired');
    await c.stop();
    const [row] = await stores[0]!.tryAcquireJobLease('gc', 'probe', 60_000).then((got) => [got]);
    assert.equal(row, true, 'a stopped holder released the lease');
  });
});
