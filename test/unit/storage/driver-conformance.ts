// The one test suite every BlobDriver must pass; each driver's test file calls it with a factory.
import assert from 'node:assert/strict';
import { describe, test, beforeEach, afterEach } from 'node:test';
import { Readable } from 'node:stream';
import { randomBytes } from 'node:crypto';
import { NotFoundError, OffsetMismatchError, type BlobDriver } from '../../../src/storage/driver.js';

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

async function collect(iter: AsyncIterable<string>): Promise<string[]> {
  const out: string[] = [];
  for await (const k of iter) out.push(k);
  return out.sort();
}

export interface DriverFixture {
  driver: BlobDriver;
  cleanup(): Promise<void>;
}

export function blobDriverConformance(name: string, create: () => Promise<DriverFixture>): void {
  describe(`BlobDriver conformance: ${name}`, () => {
    let fx: DriverFixture;
    beforeEach(async () => {
      fx = await create();
    });
    afterEach(async () => {
      await fx.cleanup();
    });

    async function commit(id: string, key: string, data: Buffer): Promise<void> {
      await fx.driver.createUpload(id);
      await fx.driver.appendUpload(id, 0, Readable.from([data]));
      await fx.driver.commitUpload(id, key);
    }

    test('missing keys: stat null, read NotFoundError, delete false', async () => {
      assert.equal(await fx.driver.stat('blobs/none'), null);
      await assert.rejects(fx.driver.read('blobs/none'), NotFoundError);
      assert.equal(await fx.driver.delete('blobs/none'), false);
    });

    test('an upload staged in several appends commits to exactly the bytes appended', async () => {
      const a = randomBytes(1000);
      const b = randomBytes(70_000);
      await fx.driver.createUpload('u1');
      assert.equal(await fx.driver.uploadSize('u1'), 0);
      assert.equal(await fx.driver.appendUpload('u1', 0, Readable.from([a])), 1000);
      assert.equal(await fx.driver.appendUpload('u1', 1000, Readable.from([b.subarray(0, 30_000), b.subarray(30_000)])), 71_000);
      assert.equal(await fx.driver.uploadSize('u1'), 71_000);
      assert.deepEqual(await readAll(await fx.driver.readUpload('u1')), Buffer.concat([a, b]));
      assert.equal(await fx.driver.stat('blobs/x/1'), null, 'nothing visible before commit');
      await fx.driver.commitUpload('u1', 'blobs/x/1');
      assert.equal((await fx.driver.stat('blobs/x/1'))?.size, 71_000);
      assert.deepEqual(await readAll(await fx.driver.read('blobs/x/1')), Buffer.concat([a, b]));
      assert.equal(await fx.driver.uploadSize('u1'), null, 'the upload is gone after commit');
    });

    test('append at the wrong offset is refused and stages nothing', async () => {
      await fx.driver.createUpload('u2');
      await fx.driver.appendUpload('u2', 0, Readable.from([Buffer.from('abc')]));
      await assert.rejects(fx.driver.appendUpload('u2', 1, Readable.from([Buffer.from('zzz')])), OffsetMismatchError);
      assert.equal(await fx.driver.uploadSize('u2'), 3);
    });

    test('unknown upload ids: size null, append/read/commit NotFoundError, abort is a no-op', async () => {
      assert.equal(await fx.driver.uploadSize('nope'), null);
      await assert.rejects(fx.driver.appendUpload('nope', 0, Readable.from([Buffer.from('a')])), NotFoundError);
      await assert.rejects(fx.driver.readUpload('nope'), NotFoundError);
      await assert.rejects(fx.driver.commitUpload('nope', 'blobs/k'), NotFoundError);
      await fx.driver.abortUpload('nope');
    });

    test('ranged reads return the inclusive range', async () => {
      const data = randomBytes(10_000);
      await commit('u3', 'blobs/r', data);
      assert.deepEqual(await readAll(await fx.driver.read('blobs/r', { start: 100, end: 199 })), data.subarray(100, 200));
      assert.deepEqual(await readAll(await fx.driver.read('blobs/r', { start: 9_999, end: 9_999 })), data.subarray(9_999));
    });

    test('committing onto an existing key keeps the content and drops the upload (dedup)', async () => {
      const data = randomBytes(500);
      await commit('u4', 'blobs/d', data);
      await commit('u5', 'blobs/d', data);
      assert.deepEqual(await readAll(await fx.driver.read('blobs/d')), data);
      assert.equal(await fx.driver.uploadSize('u5'), null);
    });

    test('abort removes the staged bytes', async () => {
      await fx.driver.createUpload('u6');
      await fx.driver.appendUpload('u6', 0, Readable.from([Buffer.from('partial')]));
      await fx.driver.abortUpload('u6');
      assert.equal(await fx.driver.uploadSize('u6'), null);
    });

    test('list yields every key under a prefix; listUploads every staged upload', async () => {
      await commit('a1', 'blobs/sha256/aa/one', Buffer.from('1'));
      await commit('a2', 'blobs/sha256/bb/two', Buffer.from('2'));
      await commit('a3', 'other/three', Buffer.from('3'));
      assert.deepEqual(await collect(fx.driver.list('blobs/')), ['blobs/sha256/aa/one', 'blobs/sha256/bb/two']);
      await fx.driver.createUpload('staged');
      const uploads = [];
      for await (const u of fx.driver.listUploads()) uploads.push(u.id);
      assert.deepEqual(uploads, ['staged']);
    });

    test('delete removes a committed object', async () => {
      await commit('a4', 'blobs/del', Buffer.from('x'));
      assert.equal(await fx.driver.delete('blobs/del'), true);
      assert.equal(await fx.driver.stat('blobs/del'), null);
    });

    test('a failing source stages at most what it delivered, and the upload stays usable', async () => {
      await fx.driver.createUpload('u7');
      const failing = new Readable({
        read() {
          this.push(Buffer.from('0123456789'));
          this.destroy(new Error('client hung up'));
        },
      });
      await assert.rejects(fx.driver.appendUpload('u7', 0, failing));
      const size = await fx.driver.uploadSize('u7');
      assert.ok(size !== null && size <= 10);
      assert.equal(await fx.driver.appendUpload('u7', size!, Readable.from([Buffer.from('tail')])), size! + 4);
    });
  });
}
