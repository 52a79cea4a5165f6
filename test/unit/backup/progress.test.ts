import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatBytes, Progress, type ProgressStream } from '../../../src/cli/progress.js';

function sink(isTTY: boolean): ProgressStream & { out: string } {
  return {
    isTTY,
    columns: 200,
    out: '',
    write(chunk: string) {
      this.out += chunk;
      return true;
    },
  };
}

test('on a terminal the bar redraws one line, throttled, and log lines are not overwritten', () => {
  let now = 0;
  const stream = sink(true);
  const p = new Progress({ label: 'backup', unit: 'blobs', total: 4, totalBytes: 4096, stream, now: () => now });
  p.add(1, 1024);
  assert.equal(stream.out, '', 'nothing drawn before the interval passed');
  now = 150;
  p.add(1, 1024);
  assert.match(stream.out, /^\r.*backup.*\[#{12}-{12}\]\s+50%.*2\/4 blobs.*2\.0 KiB\/4\.0 KiB/);
  assert.ok(!stream.out.includes('\n'));
  now = 180;
  p.add(1, 1024);
  const drawn = stream.out;
  assert.equal(stream.out, drawn, 'throttled: no redraw within 100 ms');
  p.log('backup: a notice');
  assert.ok(stream.out.endsWith('backup: a notice\n' + stream.out.slice(stream.out.lastIndexOf('\r'))));
  assert.match(stream.out, /\r\u001b\[Kbackup: a notice\n\r/);
  p.done();
  assert.ok(stream.out.endsWith('\r\u001b[K'), 'done() clears the bar');
});

test('without a terminal it prints plain periodic lines', () => {
  let now = 0;
  const stream = sink(false);
  const p = new Progress({ label: 'import', unit: 'blobs', stream, plainIntervalMs: 1000, now: () => now });
  for (let i = 0; i < 10; i++) {
    now += 300;
    p.add(1, 100, `repo${i}`);
  }
  const lines = stream.out.trimEnd().split('\n');
  assert.equal(lines.length, 2, stream.out);
  assert.ok(!stream.out.includes('\r') && !stream.out.includes('\u001b'));
  assert.match(lines[0]!, /^import {2}4 blobs {2}400 B .*repo3$/);
  p.done();
  assert.equal(stream.out.trimEnd().split('\n').length, 2);
});

test('formatBytes', () => {
  assert.equal(formatBytes(0), '0 B');
  assert.equal(formatBytes(1536), '1.5 KiB');
  assert.equal(formatBytes(5 * 1024 ** 3), '5.0 GiB');
});
