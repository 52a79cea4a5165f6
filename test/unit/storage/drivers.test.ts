import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, truncate } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { BufferPool, sharedBufferPool } from '../../../src/storage/file-sender.js';
import { FilesystemDriver } from '../../../src/storage/filesystem.js';
import { MemoryDriver } from '../../../src/storage/memory.js';
import { blobDriverConformance, SlowSink } from './driver-conformance.js';

const openFiles = async (): Promise<number> => (await readdir('/proc/self/fd')).length;

blobDriverConformance('memory', async () => ({ driver: new MemoryDriver(), cleanup: async () => undefined }));

blobDriverConformance('filesystem', async () => {
  const root = await mkdtemp(join(tmpdir(), 'wharf-fs-'));
  return { driver: new FilesystemDriver(root), cleanup: () => rm(root, { recursive: true, force: true }), openFiles, buffersInUse: () => sharedBufferPool.inUse, largeStreamBytes: 64 * 1024 * 1024 };
});

async function filesystemWith(pool: BufferPool, data: Buffer): Promise<{ driver: FilesystemDriver; root: string }> {
  const root = await mkdtemp(join(tmpdir(), 'wharf-fs-'));
  const driver = new FilesystemDriver(root, pool);
  await driver.createUpload('u');
  await driver.appendUpload('u', 0, Readable.from([data]));
  await driver.commitUpload('u', 'blobs/b');
  return { driver, root };
}

test('filesystem send: concurrent downloads beyond the pool fall back to their own buffers and all get every byte', async () => {
  const pool = new BufferPool(1024 * 1024, 2);
  const data = randomBytes(5 * 1024 * 1024 + 17);
  const { driver, root } = await filesystemWith(pool, data);
  try {
    const sinks = Array.from({ length: 4 }, () => new SlowSink());
    await Promise.all(sinks.map((sink) => driver.send('blobs/b', undefined, sink)));
    for (const sink of sinks) assert.ok(sink.bytes.equals(data));
    assert.equal(pool.inUse, 0);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('filesystem send: a file that ends early fails the download instead of sending short, and closes the file', async () => {
  const pool = new BufferPool(1024 * 1024, 3);
  const data = randomBytes(6 * 1024 * 1024);
  const { driver, root } = await filesystemWith(pool, data);
  try {
    const before = await openFiles();
    const sink = new SlowSink();
    // Cut the file while the first chunk is in flight: a read error from the sender's point of view.
    let cut: Promise<void> | undefined;
    sink.onWrite = () => void (cut ??= truncate(join(root, 'blobs/b'), 1024 * 1024));
    await assert.rejects(driver.send('blobs/b', undefined, sink), /file ended at byte/);
    await cut;
    assert.ok(sink.bytes.length < data.length);
    assert.equal(await openFiles(), before);
    sink.destroy();
    await new Promise((r) => setImmediate(r));
    assert.equal(pool.inUse, 0);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
