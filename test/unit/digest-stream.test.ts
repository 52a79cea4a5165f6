import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { test } from 'node:test';
import fc from 'fast-check';
import { digestOf, type DigestAlgorithm } from '../../src/oci/digest.js';
import { DigestHasher, hashStream } from '../../src/oci/digest-stream.js';

// Computed independently of src/, so that a mistake shared by digestOf and the hasher would still show.
const reference = (alg: DigestAlgorithm, data: Uint8Array) => `${alg}:${createHash(alg).update(data).digest('hex')}`;

const sink = () => new Writable({ write: (_chunk, _enc, done) => done() });

test('empty input: the well-known digests of nothing, and size 0', async () => {
  assert.deepEqual(new DigestHasher('sha256').result(), {
    digest: 'sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    size: 0,
  });
  assert.deepEqual(await hashStream(Readable.from([]), 'sha512'), {
    digest: 'sha512:cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e',
    size: 0,
  });
});

test('sha256 and sha512 of a stream, sha256 by default', async () => {
  const data = randomBytes(300_000);
  const chunks = [data.subarray(0, 1), data.subarray(1, 65_537), data.subarray(65_537)];
  assert.deepEqual(await hashStream(Readable.from(chunks)), { digest: reference('sha256', data), size: data.length });
  assert.deepEqual(await hashStream(Readable.from(chunks), 'sha512'), { digest: reference('sha512', data), size: data.length });
});

test('digest() does not end the hash: more content may follow, and copies go their own way', () => {
  const hasher = new DigestHasher('sha256').update(Buffer.from('ab'));
  assert.equal(hasher.digest(), digestOf(Buffer.from('ab')));
  const twin = hasher.copy();
  hasher.update(Buffer.from('c'));
  twin.update(Buffer.from('x'));
  assert.deepEqual(hasher.result(), { digest: digestOf(Buffer.from('abc')), size: 3 });
  assert.deepEqual(twin.result(), { digest: digestOf(Buffer.from('abx')), size: 3 });
});

test('tap() hashes and counts what passes, unchanged, and reports each chunk', async () => {
  const data = randomBytes(200_000);
  const hasher = new DigestHasher('sha512');
  const seen: Buffer[] = [];
  let reported = 0;
  await pipeline(
    Readable.from([data.subarray(0, 7), data.subarray(7)]),
    hasher.tap((n) => (reported += n)),
    new Writable({
      write: (chunk: Buffer, _enc, done) => {
        seen.push(chunk);
        done();
      },
    }),
  );
  assert.ok(Buffer.concat(seen).equals(data));
  assert.equal(reported, data.length);
  assert.deepEqual(hasher.result(), { digest: reference('sha512', data), size: data.length });
});

test('through(): a failing source fails the reader instead of leaving it waiting', async () => {
  const failing = new Readable({ read() {} });
  failing.push(Buffer.from('partial'));
  const tapped = new DigestHasher('sha256').through(failing);
  setImmediate(() => failing.destroy(new Error('disk read failed')));
  await assert.rejects(pipeline(tapped, sink()), /disk read failed/);

  const hasher = new DigestHasher('sha256');
  await pipeline(hasher.through(Readable.from([Buffer.from('whole')])), sink());
  assert.equal(hasher.digest(), digestOf(Buffer.from('whole')));
});

test('hashStream awaits onChunk before reading on (a throttle paces it)', async () => {
  const order: string[] = [];
  async function* source() {
    for (const s of ['a', 'b']) {
      order.push(`read ${s}`);
      yield Buffer.from(s);
    }
  }
  await hashStream(source(), 'sha256', async (chunk) => {
    await new Promise((r) => setTimeout(r, 5));
    order.push(`paced ${chunk.length}`);
  });
  assert.deepEqual(order, ['read a', 'paced 1', 'read b', 'paced 1']);
});

test('property: any chunking of the content hashes as the content at once', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.uint8Array({ maxLength: 4096 }),
      fc.array(fc.nat({ max: 4096 }), { maxLength: 12 }),
      fc.constantFrom<DigestAlgorithm>('sha256', 'sha512'),
      async (bytes, cuts, alg) => {
        const data = Buffer.from(bytes);
        const bounds = [...new Set([0, ...cuts.map((c) => c % (data.length + 1)), data.length])].sort((a, b) => a - b);
        const chunks = bounds.slice(1).map((end, i) => data.subarray(bounds[i], end));
        const expected = { digest: reference(alg, data), size: data.length };
        assert.deepEqual(await hashStream(chunks, alg), expected);
        const hasher = new DigestHasher(alg);
        for (const chunk of chunks) hasher.update(chunk);
        assert.deepEqual(hasher.result(), expected);
      },
    ),
    { numRuns: 200 },
  );
});
