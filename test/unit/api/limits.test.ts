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

test('upload slots: a client may hold its share, the total holds across clients, released slots are reusable', () => {
  const slots = new UploadSlots({ maxConcurrentUploads: 3, maxConcurrentUploadsPerClient: 2 });
  const a1 = slots.acquire('a');
  const a2 = slots.acquire('a');
  assert.equal(typeof a1, 'function');
  assert.equal(typeof a2, 'function');
  assert.equal(slots.acquire('a'), 'client');
  const b1 = slots.acquire('b');
  assert.equal(typeof b1, 'function');
  assert.equal(slots.acquire('c'), 'total');
  (a1 as () => void)();
  assert.equal(typeof slots.acquire('c'), 'function');
  assert.equal(slots.acquire('a'), 'total');
});

test('upload client keys: the user when authenticated, else the address', () => {
  assert.equal(uploadClientKey('alice', '10.0.0.1'), 'user:alice');
  assert.equal(uploadClientKey(null, '10.0.0.1'), 'addr:10.0.0.1');
  assert.notEqual(uploadClientKey(null, 'alice'), uploadClientKey('alice', undefined));
});
