// The filesystem driver's append path (src/storage/upload-writer.ts): batches over many odd-sized chunks, the tail
// of a failed source kept, nothing written after a failed write.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, open, readFile, rm } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { appendToFile } from '../../../src/storage/upload-writer.js';

/** data cut into chunks of 1..max bytes, varying, so batches never line up with chunks. */
function chunked(data: Buffer, max: number): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0, n = 1; i < data.length; i += n, n = (n * 7919) % max || 1) out.push(data.subarray(i, i + n));
  return out;
}

describe('upload writer', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'wharf-upload-writer-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('appends many odd-sized chunks at the offset, across several batches, and reports the new size', async () => {
    const path = join(dir, 'a');
    const head = randomBytes(123);
    const data = randomBytes(3 * 1024 * 1024 + 17);
    const handle = await open(path, 'w+');
    try {
      await handle.write(head, 0, head.length, 0);
      assert.equal(await appendToFile(handle, head.length, Readable.from(chunked(data, 100_000))), head.length + data.length);
    } finally {
      await handle.close();
    }
    assert.deepEqual(await readFile(path), Buffer.concat([head, data]));
  });

  it('a source failing mid-way leaves everything it delivered staged, the unwritten tail batch included', async () => {
    const path = join(dir, 'b');
    const delivered = randomBytes(1024 * 1024 + 5000); // full batches written, the last bytes waiting in the next
    const source = Readable.from(
      (async function* () {
        yield* chunked(delivered, 65_536);
        throw new Error('client hung up');
      })(),
    );
    const handle = await open(path, 'w+');
    try {
      await assert.rejects(appendToFile(handle, 0, source), /client hung up/);
    } finally {
      await handle.close();
    }
    assert.deepEqual(await readFile(path), delivered);
  });

  it('after a failed write nothing more is written, so the staged bytes stay a prefix of what was sent', async () => {
    const path = join(dir, 'c');
    const real = await open(path, 'w+');
    let writes = 0;
    // A disk that fails the second write (ENOSPC, say): the third batch must not land after the gap.
    const failing = new Proxy(real, {
      get(target, prop) {
        if (prop === 'writev') {
          return (buffers: Buffer[], position: number) => {
            writes++;
            if (writes === 2) return Promise.reject(Object.assign(new Error('no space left on device'), { code: 'ENOSPC' }));
            return target.writev(buffers, position);
          };
        }
        const value = Reflect.get(target, prop) as unknown;
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    }) as FileHandle;
    const data = randomBytes(3 * 1024 * 1024 + 100);
    try {
      await assert.rejects(appendToFile(failing, 0, Readable.from(chunked(data, 65_536))), /no space/);
    } finally {
      await real.close();
    }
    const staged = await readFile(path);
    assert.ok(staged.length <= 256 * 1024 + 65_536, `only the first batch is staged (${staged.length} bytes)`);
    assert.deepEqual(staged, data.subarray(0, staged.length));
  });
});
