// Conformance, the event outbox: events commit with their change; per endpoint, one ordered queue per repository.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { d, ev, later, manifest, type CurrentStore } from './support.js';

export function outboxContract(store: CurrentStore): void {
  test('outbox: events commit with their change, and not without it', async () => {
    const s = store();
    await s.putManifest(manifest('r', d(160), { tags: ['t'] }), [ev('r', 1)]);
    assert.equal(await s.deleteTag('r', 'missing', [ev('r', 2)]), false);
    assert.equal(await s.deleteManifest('r', d(999), [ev('r', 3)]), false);
    const refused = await s.putManifest(manifest('r', d(161), { blobs: [d(998)] }), [ev('r', 4)]);
    assert.equal(refused.ok, false);
    await s.putManifest(manifest('r', d(162)), [ev('r', 5, [])]);
    const due = await s.dueDeliveries('hook', Date.now() + 1, 10);
    assert.deepEqual(due.map((x) => x.payload), ['{"n":1}']);
    assert.deepEqual(await s.deliveryStats(), [{ endpoint: 'hook', pending: 1, dead: 0 }]);
  });

  test('outbox: one queue per repository and endpoint, head first; retries and dead letters', async () => {
    const s = store();
    await s.appendEvents([ev('a', 1, ['h1', 'h2']), ev('a', 2, ['h1']), ev('b', 3, ['h1'])]);
    const now = Date.now() + 1;
    let due = await s.dueDeliveries('h1', now, 10);
    assert.deepEqual(due.map((x) => x.payload), ['{"n":1}', '{"n":3}'], 'only the head of each repository queue');
    await s.markFailed('h1', due[0]!.eventId, 'connection refused', now + 60_000);
    due = await s.dueDeliveries('h1', now, 10);
    assert.deepEqual(due.map((x) => x.payload), ['{"n":3}'], 'a failed head blocks its repository until due');
    due = await s.dueDeliveries('h1', now + 60_000, 10);
    assert.equal(due[0]?.attempts, 1);
    assert.equal(due[0]?.lastError, 'connection refused');
    await s.markDelivered('h1', due[0]!.eventId);
    due = await s.dueDeliveries('h1', now, 10);
    assert.deepEqual(due.map((x) => x.payload), ['{"n":2}', '{"n":3}']);
    assert.deepEqual((await s.dueDeliveries('h2', now, 10)).map((x) => x.payload), ['{"n":1}'], 'endpoints are independent');
    await s.markFailed('h1', due[0]!.eventId, 'HTTP 500', null);
    assert.deepEqual((await s.dueDeliveries('h1', now, 10)).map((x) => x.payload), ['{"n":3}'], 'a dead letter unblocks its queue');
    assert.deepEqual((await s.listDeadDeliveries('h1', 10)).map((x) => x.payload), ['{"n":2}']);
    assert.deepEqual(await s.deliveryStats(), [
      { endpoint: 'h1', pending: 1, dead: 1 },
      { endpoint: 'h2', pending: 1, dead: 0 },
    ]);
    assert.equal(await s.requeueDead('h1'), 1);
    assert.deepEqual((await s.dueDeliveries('h1', Date.now() + 1, 10)).map((x) => x.payload), ['{"n":2}', '{"n":3}']);
  });

  test('outbox: a delivery carries its event, endpoint, repository, attempts and creation time, and is due at once', async () => {
    const s = store();
    const before = Date.now();
    await s.appendEvents([ev('team/app', 1, ['h'])]);
    const after = Date.now();
    const [delivery, ...rest] = await s.dueDeliveries('h', after, 10);
    assert.deepEqual(rest, []);
    assert.equal(delivery?.endpoint, 'h');
    assert.equal(delivery?.repository, 'team/app');
    assert.equal(delivery?.payload, '{"n":1}');
    assert.equal(delivery?.attempts, 0);
    assert.equal(delivery?.lastError, null);
    assert.ok(delivery!.createdAt >= before && delivery!.createdAt <= after, `createdAt ${delivery!.createdAt} in [${before}, ${after}]`);
    assert.deepEqual(await s.dueDeliveries('other', after, 10), [], 'nothing for an endpoint the event does not name');
  });

  test('outbox: a repository queue delivers in append order, one head at a time; limit caps the answer', async () => {
    const s = store();
    await s.appendEvents([ev('a', 1, ['h1', 'h2']), ev('b', 2, ['h1'])]);
    await s.appendEvents([ev('a', 3, ['h1'])]);
    await s.appendEvents([ev('a', 4, ['h1'])]);
    assert.equal((await s.dueDeliveries('h1', later(), 1)).length, 1);
    const delivered: string[] = [];
    for (;;) {
      const heads = (await s.dueDeliveries('h1', later(), 10)).filter((x) => x.repository === 'a');
      if (heads.length === 0) break;
      assert.equal(heads.length, 1, 'one head per repository');
      delivered.push(heads[0]!.payload);
      await s.markDelivered('h1', heads[0]!.eventId);
    }
    assert.deepEqual(delivered, ['{"n":1}', '{"n":3}', '{"n":4}']);
    assert.deepEqual((await s.dueDeliveries('h2', later(), 10)).map((x) => x.payload), ['{"n":1}'], 'delivered to h1 only: h2 still has it');
    assert.deepEqual((await s.dueDeliveries('h1', later(), 10)).map((x) => x.payload), ['{"n":2}'], 'repository b untouched');
    assert.deepEqual(await s.deliveryStats(), [
      { endpoint: 'h1', pending: 1, dead: 0 },
      { endpoint: 'h2', pending: 1, dead: 0 },
    ]);
  });

  test('outbox: failures count attempts; a requeued dead letter goes back to the head of its queue', async () => {
    const s = store();
    await s.appendEvents([ev('a', 1, ['h1', 'h2']), ev('a', 2, ['h1']), ev('a', 3, ['h1'])]);
    const now = Date.now();
    const [head] = await s.dueDeliveries('h1', now, 10);
    await s.markFailed('h1', head!.eventId, 'timeout', now);
    await s.markFailed('h1', head!.eventId, 'HTTP 503', null);
    const [dead] = await s.listDeadDeliveries('h1', 10);
    assert.equal(dead?.payload, '{"n":1}');
    assert.equal(dead?.attempts, 2);
    assert.equal(dead?.lastError, 'HTTP 503');
    const [next] = await s.dueDeliveries('h1', later(), 10);
    assert.equal(next?.payload, '{"n":2}', 'the dead letter no longer blocks its queue');
    await s.markDelivered('h1', next!.eventId);

    const [h2] = await s.dueDeliveries('h2', now, 10);
    await s.markFailed('h2', h2!.eventId, 'refused', null);
    assert.deepEqual((await s.listDeadDeliveries(null, 10)).map((x) => [x.endpoint, x.payload]), [['h1', '{"n":1}'], ['h2', '{"n":1}']]);
    assert.equal(await s.requeueDead('h1'), 1, 'only that endpoint');
    assert.deepEqual((await s.listDeadDeliveries(null, 10)).map((x) => x.endpoint), ['h2']);
    assert.deepEqual((await s.dueDeliveries('h1', later(), 10)).map((x) => x.payload), ['{"n":1}'], 'back at the head, ahead of 3');
    assert.equal(await s.requeueDead(null), 1);
    assert.deepEqual(await s.listDeadDeliveries(null, 10), []);
    assert.deepEqual((await s.dueDeliveries('h2', later(), 10)).map((x) => x.payload), ['{"n":1}']);
    assert.equal(await s.requeueDead(null), 0);
  });
}
