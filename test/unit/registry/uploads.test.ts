import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import pino from 'pino';
import { parseDigest } from '../../../src/oci/digest.js';
import { isDomainError } from '../../../src/oci/errors.js';
import { SqliteMetadataStore } from '../../../src/metadata/sqlite.js';
import { FilesystemDriver } from '../../../src/storage/filesystem.js';
import { MemoryDriver } from '../../../src/storage/memory.js';
import { UploadSessions } from '../../../src/registry/uploads.js';

const log = pino({ level: 'silent' });

function setup() {
  const driver = new MemoryDriver();
  const metadata = new SqliteMetadataStore({ path: ':memory:', synchronous: 'normal' });
  return { driver, metadata, service: new UploadSessions(driver, metadata, log) };
}

const sha = (alg: 'sha256' | 'sha512', data: Buffer) => parseDigest(`${alg}:${createHash(alg).update(data).digest('hex')}`)!;

test('an upload resumes in a fresh service (restart, or another node), which hashes what is staged at finish', async () => {
  const { driver, metadata, service } = setup();
  const data = randomBytes(100_000);
  const { id } = await service.start('r', 'sha256');
  await service.append('r', id, Readable.from([data.subarray(0, 40_000)]), { start: 0, end: 39_999 });
  const restarted = new UploadSessions(driver, metadata, log);
  assert.equal((await restarted.status('r', id)).size, 40_000);
  const blob = await restarted.finish('r', id, sha('sha256', data), Readable.from([data.subarray(40_000)]));
  assert.equal(blob.size, 100_000);
  assert.ok(await metadata.getRepositoryBlob('r', blob.digest));
});

test('chunks landing on a different instance each are staged unhashed, and read back once, at finish', async () => {
  const { driver, metadata } = setup();
  let reads = 0;
  const readUpload = driver.readUpload.bind(driver);
  driver.readUpload = (id: string) => {
    reads++;
    return readUpload(id);
  };
  const chunks = Array.from({ length: 20 }, () => randomBytes(1000));
  const fresh = () => new UploadSessions(driver, metadata, log);
  const { id } = await fresh().start('r', 'sha256');
  for (const [i, chunk] of chunks.entries()) {
    await fresh().append('r', id, Readable.from([chunk]), { start: i * 1000, end: i * 1000 + 999 });
  }
  assert.equal(reads, 0, 'no chunk re-reads what was staged before it');
  const blob = await fresh().finish('r', id, sha('sha256', Buffer.concat(chunks)), null);
  assert.equal(blob.size, 20_000);
  assert.equal(reads, 1);
});

test('one instance taking every chunk never reads the staged bytes back', async () => {
  const { driver, service } = setup();
  driver.readUpload = () => Promise.reject(new Error('staged bytes read back'));
  const data = randomBytes(30_000);
  const { id } = await service.start('r', 'sha256');
  for (let at = 0; at < data.length; at += 10_000) await service.append('r', id, Readable.from([data.subarray(at, at + 10_000)]));
  assert.equal((await service.finish('r', id, sha('sha256', data), null)).size, 30_000);
});

test('a sha512 digest can close a session started for sha256 (the staged bytes are re-hashed)', async () => {
  const { metadata, service } = setup();
  const data = randomBytes(5000);
  const { id } = await service.start('r', 'sha256');
  await service.append('r', id, Readable.from([data]));
  const blob = await service.finish('r', id, sha('sha512', data), null);
  assert.match(blob.digest, /^sha512:/);
  assert.ok(await metadata.getRepositoryBlob('r', blob.digest));
});

test('a wrong digest fails, ends the session and leaves nothing visible', async () => {
  const { driver, metadata, service } = setup();
  const { id } = await service.start('r', 'sha256');
  await service.append('r', id, Readable.from([Buffer.from('real content')]));
  const wrong = sha('sha256', Buffer.from('other content'));
  await assert.rejects(service.finish('r', id, wrong, null), (e: unknown) => isDomainError(e, 'DigestInvalid'));
  assert.equal(await metadata.getBlob(`sha256:${wrong.hex}`), null);
  assert.equal(await driver.uploadSize(id), null);
  await assert.rejects(service.status('r', id), (e: unknown) => isDomainError(e, 'UploadUnknown'));
});

test('a chunk that does not start at the current offset is refused with the current range', async () => {
  const { service } = setup();
  const { id } = await service.start('r', 'sha256');
  await service.append('r', id, Readable.from([Buffer.alloc(10)]));
  await assert.rejects(service.append('r', id, Readable.from([Buffer.alloc(10)]), { start: 5, end: 14 }), (e: unknown) => {
    return isDomainError(e, 'UploadOffsetMismatch') && e.data.expected === 10;
  });
});

test('a session belongs to its repository', async () => {
  const { service } = setup();
  const { id } = await service.start('r', 'sha256');
  await assert.rejects(service.status('other', id), (e: unknown) => isDomainError(e, 'UploadUnknown'));
});

test('concurrent appends to one session are serialised, never interleaved', async () => {
  const { service } = setup();
  const { id } = await service.start('r', 'sha256');
  const parts = Array.from({ length: 8 }, () => randomBytes(1000));
  const results = await Promise.allSettled(parts.map((p) => service.append('r', id, Readable.from([p]))));
  assert.ok(results.every((r) => r.status === 'fulfilled'));
  assert.equal((await service.status('r', id)).size, 8000);
});

test('purge removes idle sessions and staged files without a session, and keeps active ones', async () => {
  const { driver, metadata, service } = setup();
  const idle = await service.start('r', 'sha256');
  await driver.createUpload('orphan-from-a-crash');
  await new Promise((r) => setTimeout(r, 30));
  const active = await service.start('r', 'sha256');
  assert.equal(await service.purgeStale(20), 2);
  assert.equal(await metadata.getUpload(idle.id), null);
  assert.equal(await driver.uploadSize(idle.id), null);
  assert.equal(await driver.uploadSize('orphan-from-a-crash'), null);
  assert.equal((await service.status('r', active.id)).size, 0);
});

test('sessions that never staged a byte are purged after the shorter empty max age; begun ones wait for the long one', async () => {
  const { driver, metadata, service } = setup();
  const empty = await service.start('r', 'sha256');
  const begun = await service.start('r', 'sha256');
  await service.append('r', begun.id, Readable.from([randomBytes(10)]));
  const inTenMinutes = Date.now() + 10 * 60_000; // an injected clock: nothing waits
  assert.equal(await service.purgeStale(24 * 3600_000, 5 * 60_000, inTenMinutes), 1);
  assert.equal(await metadata.getUpload(empty.id), null);
  assert.equal(await driver.uploadSize(empty.id), null);
  assert.equal((await service.status('r', begun.id)).size, 10);
});

test('when the database is full at commit, the bytes already in place are deleted again and the session ends', async () => {
  const { driver, metadata } = setup();
  const full = Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' });
  const failing = new Proxy(metadata, {
    get(target, key, receiver) {
      if (key === 'commitBlob') return async () => Promise.reject(full);
      const value = Reflect.get(target, key, receiver) as unknown;
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  const service = new UploadSessions(driver, failing, log);
  const data = randomBytes(2000);
  const digest = sha('sha256', data);
  await assert.rejects(service.monolithic('r', digest, Readable.from([data])), (err: Error) => err.name === 'StorageFullError');
  assert.equal(await driver.stat(`blobs/sha256/${digest.hex.slice(0, 2)}/${digest.hex}`), null, 'no orphan bytes');
  assert.equal(await metadata.getBlob(`sha256:${digest.hex}`), null);
  assert.equal(await metadata.countUploads(), 0, 'no session left');
  const staged = [];
  for await (const u of driver.listUploads()) staged.push(u.id);
  assert.deepEqual(staged, [], 'nothing staged');
});

test('a chunk cut off part-way still records what it staged, so the repository usage counts it', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'wharf-cut-'));
  const metadata = new SqliteMetadataStore({ path: ':memory:', synchronous: 'normal' });
  const service = new UploadSessions(new FilesystemDriver(dir), metadata, log);
  try {
    const { id } = await service.start('r', 'sha256');
    let sent = 0;
    const cut = new Readable({
      read() {
        if (sent++ < 3) this.push(randomBytes(3000));
        else setTimeout(() => this.destroy(new Error('client went away')), 20);
      },
    });
    await assert.rejects(service.append('r', id, cut));
    const staged = (await service.status('r', id)).size;
    assert.ok(staged > 0, 'some bytes were staged');
    assert.deepEqual(await metadata.uploadUsage('r'), { sessions: 1, bytes: staged });
  } finally {
    await metadata.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('a commit waits for a digest garbage collection holds, and gives up with BlobBusy once the lease could have expired', async () => {
  const driver = new MemoryDriver();
  const metadata = new SqliteMetadataStore({ path: ':memory:', synchronous: 'normal' });
  // An injected clock: each 20 ms poll advances it at once, so the 61 s of patience take no real time.
  let now = Date.now();
  let polls = 0;
  const clock = { now: () => now, sleep: async (ms: number) => void ((now += ms), polls++) };
  const service = new UploadSessions(driver, metadata, log, undefined, clock);
  const data = randomBytes(1000);
  const digest = sha('sha256', data);
  assert.ok(await metadata.acquireBlobLease(`sha256:${digest.hex}`, 'gc', 60_000));
  const started = performance.now();
  await assert.rejects(service.monolithic('r', digest, Readable.from([data])), (e: unknown) => isDomainError(e, 'BlobBusy'));
  assert.ok(performance.now() - started < 10_000, 'no real waiting');
  assert.ok(polls > 3000, `polled ${polls} times over the lease's lifetime`);
  assert.equal(await metadata.getBlob(`sha256:${digest.hex}`), null);
  // Once the holder lets go, the same push goes through.
  await metadata.releaseBlobLease(`sha256:${digest.hex}`, 'gc');
  const blob = await service.monolithic('r', digest, Readable.from([data]));
  assert.equal(blob.digest, `sha256:${digest.hex}`);
  assert.equal(blob.createdAt, now);
});
