// The one test suite every BlobDriver must pass; each driver's test file calls it with a factory.
import assert from 'node:assert/strict';
import { describe, test, beforeEach, afterEach } from 'node:test';
import { Readable, Writable } from 'node:stream';
import { createHash, randomBytes } from 'node:crypto';
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
  /** Open file descriptors of this process, for drivers that hold files: must not grow across a download. */
  openFiles?(): Promise<number>;
  /** Buffers the driver has lent out and not got back: must return to 0 once a download settles. */
  buffersInUse?(): number;
  /** Bytes of the very-large-stream case: as large as the driver's tier affords (a memory driver holds them all). */
  largeStreamBytes?: number;
}

/** A deterministic stream of `size` bytes in 64 KiB chunks, generated as read (never held whole). */
function patternStream(size: number, seed: number): Readable {
  let sent = 0;
  return new Readable({
    read() {
      if (sent >= size) return void this.push(null);
      const n = Math.min(64 * 1024, size - sent);
      const chunk = Buffer.allocUnsafe(64 * 1024);
      for (let i = 0; i < chunk.length; i += 4) chunk.writeInt32LE(Math.imul(sent + i, 2654435761) ^ seed, i);
      sent += n;
      this.push(chunk.subarray(0, n));
    },
  });
}

async function sha256Of(stream: Readable): Promise<{ digest: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const c of stream) {
    hash.update(c as Buffer);
    size += (c as Buffer).length;
  }
  return { digest: hash.digest('hex'), size };
}

/**
 * A destination that acknowledges each write on a later turn, like a socket, and records what it got. With
 * `hangUpAt` it destroys itself once it has received that many bytes, like a client that went away mid-download.
 */
export class SlowSink extends Writable {
  readonly chunks: Buffer[] = [];
  writes = 0;
  received = 0;
  onWrite: () => void = () => undefined;
  constructor(private readonly hangUpAt = Infinity) {
    super({ highWaterMark: 1 });
  }
  override _write(chunk: Buffer, _enc: BufferEncoding, done: (err?: Error | null) => void): void {
    // Copied: the sender reuses its buffers once a write is acknowledged.
    this.onWrite();
    this.chunks.push(Buffer.from(chunk));
    this.writes++;
    this.received += chunk.length;
    if (this.received >= this.hangUpAt) {
      setImmediate(() => this.destroy());
      return;
    }
    setImmediate(done);
  }
  get bytes(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

/** Waits until cond() holds, for releases that happen on a later turn (a destination's close event). */
async function eventually(cond: () => boolean | Promise<boolean>): Promise<boolean> {
  for (let i = 0; i < 100; i++) {
    if (await cond()) return true;
    await new Promise((r) => setTimeout(r, 5));
  }
  return false;
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

    test('send serves the whole object and ranges, headers hook first, to a destination that acknowledges late', async () => {
      const data = randomBytes(9 * 1024 * 1024 + 4321);
      await commit('s1', 'blobs/big', data);
      const events: string[] = [];
      const sink = new SlowSink();
      sink.onWrite = () => events.push('write');
      await fx.driver.send('blobs/big', undefined, sink, () => events.push('open'));
      assert.equal(events[0], 'open', 'headers can go out before the first byte');
      assert.equal(events.filter((e) => e === 'open').length, 1);
      assert.ok(sink.writableFinished, 'the destination is ended');
      assert.ok(sink.bytes.equals(data));
      for (const [start, end] of [[0, 0], [100, 199], [4 * 1024 * 1024 - 7, 8 * 1024 * 1024 + 9], [1234, data.length - 1]] as const) {
        const ranged = new SlowSink();
        await fx.driver.send('blobs/big', { start, end }, ranged);
        assert.ok(ranged.bytes.equals(data.subarray(start, end + 1)), `range ${start}-${end}`);
      }
      const small = randomBytes(300);
      await commit('s2', 'blobs/small', small);
      const smallSink = new SlowSink();
      await fx.driver.send('blobs/small', undefined, smallSink);
      assert.ok(smallSink.bytes.equals(small));
      const empty = new SlowSink();
      await commit('s3', 'blobs/empty', Buffer.alloc(0));
      await fx.driver.send('blobs/empty', undefined, empty);
      assert.equal(empty.bytes.length, 0);
      assert.ok(empty.writableFinished);
      assert.equal(fx.buffersInUse?.() ?? 0, 0);
    });

    test('send of a missing key rejects with NotFoundError before opening or writing anything', async () => {
      const sink = new SlowSink();
      let opened = false;
      await assert.rejects(fx.driver.send('blobs/none', undefined, sink, () => (opened = true)), NotFoundError);
      assert.equal(opened, false);
      assert.equal(sink.writes, 0);
      assert.equal(sink.writableEnded, false, 'left open for the caller to answer 404 on');
    });

    test('a destination that goes away mid-download: send rejects, the file is closed and no buffer is kept', async () => {
      const data = randomBytes(20 * 1024 * 1024);
      await commit('s4', 'blobs/gone', data);
      const before = await fx.openFiles?.();
      for (const hangUpAt of [1, 4 * 1024 * 1024 + 1, 8 * 1024 * 1024 + 1]) {
        const sink = new SlowSink(hangUpAt);
        await assert.rejects(fx.driver.send('blobs/gone', undefined, sink), (err: NodeJS.ErrnoException) => err.code === 'ERR_STREAM_PREMATURE_CLOSE');
      }
      const destroyed = new SlowSink();
      destroyed.destroy();
      await assert.rejects(fx.driver.send('blobs/gone', undefined, destroyed));
      if (before !== undefined) assert.ok(await eventually(async () => (await fx.openFiles!()) === before), 'file handles closed');
      assert.ok(await eventually(() => (fx.buffersInUse?.() ?? 0) === 0), 'every pooled buffer returned');
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

    // Distribution's driver suite cases: many small appends, a very large stream, concurrent readers, range edges.
    test('many small appends of odd sizes, across several MiB, commit to exactly the bytes appended', async () => {
      const pieces = [1, 7, 65_537, 3 * 1024 * 1024 + 3, 1, 2 * 1024 * 1024 - 1, 999_999, 4 * 1024 * 1024, 13, 1024 * 1024 + 17];
      const data = randomBytes(pieces.reduce((a, b) => a + b, 0));
      await fx.driver.createUpload('small');
      let offset = 0;
      for (const n of pieces) {
        assert.equal(await fx.driver.appendUpload('small', offset, Readable.from([data.subarray(offset, offset + n)])), offset + n);
        offset += n;
        assert.equal(await fx.driver.uploadSize('small'), offset);
      }
      assert.deepEqual(await readAll(await fx.driver.readUpload('small')), data);
      await fx.driver.commitUpload('small', 'blobs/small-appends');
      assert.ok((await readAll(await fx.driver.read('blobs/small-appends'))).equals(data));
      for (const [start, end] of [[0, 0], [data.length - 1, data.length - 1], [0, data.length - 1], [5 * 1024 * 1024 - 1, 5 * 1024 * 1024], [65_544, 65_545]] as const) {
        assert.ok((await readAll(await fx.driver.read('blobs/small-appends', { start, end }))).equals(data.subarray(start, end + 1)), `range ${start}-${end}`);
      }
    });

    test('a very large stream is staged and served with bounded memory', async () => {
      const size = fx.largeStreamBytes ?? 8 * 1024 * 1024;
      const expected = await sha256Of(patternStream(size, 7));
      let peak = 0;
      const base = process.memoryUsage().rss;
      const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss - base)), 20);
      try {
        await fx.driver.createUpload('large');
        assert.equal(await fx.driver.appendUpload('large', 0, patternStream(size, 7)), size);
        await fx.driver.commitUpload('large', 'blobs/large');
        assert.equal((await fx.driver.stat('blobs/large'))?.size, size);
        assert.deepEqual(await sha256Of(await fx.driver.read('blobs/large')), expected);
        const hash = createHash('sha256');
        const sink = new Writable({
          write(chunk: Buffer, _enc, done) {
            hash.update(chunk);
            done();
          },
        });
        await fx.driver.send('blobs/large', undefined, sink);
        assert.equal(hash.digest('hex'), expected.digest);
      } finally {
        clearInterval(sampler);
      }
      if (size >= 64 * 1024 * 1024) assert.ok(peak < size / 2, `memory grew by ${peak} bytes streaming ${size}`);
    });

    test('concurrent readers of one object each get every byte, and ranges at its edges', async () => {
      const data = randomBytes(6 * 1024 * 1024 + 1);
      await commit('c1', 'blobs/shared', data);
      const sinks = Array.from({ length: 6 }, () => new SlowSink());
      const ranged = Promise.all([[0, 0], [data.length - 1, data.length - 1], [1, data.length - 2]].map(async ([start, end]) => {
        assert.ok((await readAll(await fx.driver.read('blobs/shared', { start: start!, end: end! }))).equals(data.subarray(start, end! + 1)));
      }));
      await Promise.all([...sinks.map((sink) => fx.driver.send('blobs/shared', undefined, sink)), ranged]);
      for (const sink of sinks) assert.ok(sink.bytes.equals(data));
    });
  });
}
