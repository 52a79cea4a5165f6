import assert from 'node:assert/strict';
import { test } from 'node:test';
import { effectiveConnectionLimits, openFileLimit } from '../../../src/api/connection-limits.js';
import { UploadSlots, uploadClientKey } from '../../../src/api/upload-slots.js';

const limits = `Limit                     Soft Limit           Hard Limit           Units
Max processes             63445                63445                processes
Max open files            1024                 524288               files
`;

test('openFileLimit reads the soft open-files limit; unknown or unlimited is null', () => {
  assert.equal(openFileLimit(() => limits), 1024);
  assert.equal(openFileLimit(() => limits.replace('1024 ', 'unlimited ')), null);
  assert.equal(openFileLimit(() => ''), null);
  assert.equal(
    openFileLimit(() => {
      throw new Error('ENOENT');
    }),
    null,
  );
});

test('the connection caps stay below what the open-file limit allows, keeping the per-address share', () => {
  const configured = { maxConnections: 4096, maxConnectionsPerAddress: 1024 };
  assert.deepEqual(effectiveConnectionLimits(configured, 524288), configured);
  assert.deepEqual(effectiveConnectionLimits(configured, null), configured);
  assert.deepEqual(effectiveConnectionLimits(configured, 1024), { maxConnections: 448, maxConnectionsPerAddress: 112 });
  assert.deepEqual(effectiveConnectionLimits({ maxConnections: 4096, maxConnectionsPerAddress: 4096 }, 1024), { maxConnections: 448, maxConnectionsPerAddress: 448 });
  assert.deepEqual(effectiveConnectionLimits({ maxConnections: 4096, maxConnectionsPerAddress: 0 }, 1024), { maxConnections: 448, maxConnectionsPerAddress: 0 });
  assert.equal(effectiveConnectionLimits(configured, 100).maxConnections, 16, 'a floor, however low the limit');
});

test('upload slots: a client may hold its share, the total holds across clients, released slots are reusable', async () => {
  const slots = new UploadSlots({ maxConcurrentUploads: 3, maxConcurrentUploadsPerClient: 2, uploadQueueTimeout: 0, maxQueuedUploads: 10 });
  const a1 = await slots.acquire('a');
  const a2 = await slots.acquire('a');
  assert.equal(typeof a1, 'function');
  assert.equal(typeof a2, 'function');
  assert.equal(await slots.acquire('a'), 'client');
  const b1 = await slots.acquire('b');
  assert.equal(typeof b1, 'function');
  assert.equal(await slots.acquire('c'), 'total');
  (a1 as () => void)();
  assert.equal(typeof (await slots.acquire('c')), 'function');
  assert.equal(await slots.acquire('a'), 'total');
});

test('upload slots: over the cap a request waits its turn, up to the queue timeout and length; a hang-up leaves', async () => {
  const slots = new UploadSlots({ maxConcurrentUploads: 1, maxConcurrentUploadsPerClient: 5, uploadQueueTimeout: 200, maxQueuedUploads: 2 });
  const first = (await slots.acquire('a')) as () => void;
  const order: string[] = [];
  const second = slots.acquire('b').then((s) => (order.push('b'), s));
  const third = slots.acquire('c').then((s) => (order.push('c'), s));
  assert.equal(await slots.acquire('d'), 'total', 'the queue is full: refused at once');
  assert.equal(slots.waiting, 2);
  first();
  const b = (await second) as () => void;
  assert.equal(typeof b, 'function');
  b();
  assert.equal(typeof (await third), 'function');
  assert.deepEqual(order, ['b', 'c'], 'first come, first served');
  const started = Date.now();
  assert.equal(await slots.acquire('e'), 'total', 'c still holds the slot: refused after the timeout');
  assert.ok(Date.now() - started >= 150);
  const gone = new AbortController();
  const waiting = slots.acquire('f', gone.signal);
  gone.abort();
  assert.equal(await waiting, 'total');
  assert.equal(slots.waiting, 0);
});

test('upload client keys: the user when authenticated, else the address', () => {
  assert.equal(uploadClientKey('alice', '10.0.0.1'), 'user:alice');
  assert.equal(uploadClientKey(null, '10.0.0.1'), 'addr:10.0.0.1');
  assert.notEqual(uploadClientKey(null, 'alice'), uploadClientKey('alice', ''));
});
