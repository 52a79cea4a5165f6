import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatBytes, progressBar } from '../../src/cli/progress.js';

test('formatBytes: binary units, whole bytes below 1 KiB, TiB at most', () => {
  assert.equal(formatBytes(1023), '1023 B');
  assert.equal(formatBytes(1024), '1.0 KiB');
  assert.equal(formatBytes(3 * 1024 ** 2), '3.0 MiB');
  assert.equal(formatBytes(2048 * 1024 ** 4), '2048.0 TiB');
});

test('progressBar: width, percentage rounded down, fraction clamped', () => {
  assert.equal(progressBar(0.5, 10), '[#####-----]  50%');
  assert.equal(progressBar(0.999, 4), '[####]  99%');
  assert.equal(progressBar(2, 4), '[####] 100%');
  assert.equal(progressBar(-1, 4), '[----]   0%');
  assert.equal(progressBar(0).length, '[] 100%'.length + 24);
});
