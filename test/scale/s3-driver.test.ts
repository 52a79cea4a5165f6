// The shared blob-driver suite against real S3 (Ceph radosgw), plus what only S3 has: parts, staging, redirects.
import { S3Driver } from '../../src/storage/s3/driver.js';
import { blobDriverConformance } from '../unit/storage/driver-conformance.js';
import { emptyPrefix, testS3Config } from '../support/s3.js';

blobDriverConformance('s3 (radosgw)', async () => {
  const config = testS3Config();
  return { driver: new S3Driver(config), cleanup: () => emptyPrefix(config), largeStreamBytes: 200 * 1024 * 1024 };
});

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { CreateMultipartUploadCommand, ListMultipartUploadsCommand, ListPartsCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { createS3Client } from '../../src/storage/s3/client.js';

const MiB = 1024 * 1024;

async function bytesOf(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

test('s3: chunks alternating between two nodes (two drivers on one bucket) stage, read back and commit correctly', async () => {
  const config = testS3Config();
  const [a, b] = [new S3Driver(config), new S3Driver(config)];
  try {
    const data = randomBytes(13 * MiB + 5);
    const cuts = [0, 1 * MiB, 1 * MiB + 3, 6 * MiB, 6 * MiB + 1, 12 * MiB, data.length];
    await a.createUpload('multi');
    for (let i = 0; i + 1 < cuts.length; i++) {
      const node = i % 2 === 0 ? a : b;
      assert.equal(await node.uploadSize('multi'), cuts[i]);
      assert.equal(await node.appendUpload('multi', cuts[i]!, Readable.from([data.subarray(cuts[i], cuts[i + 1])])), cuts[i + 1]);
    }
    // Every part has exactly partSize bytes (R2's rule), the rest waits in segments.
    const client = createS3Client(config);
    const uploads = await client.send(new ListMultipartUploadsCommand({ Bucket: config.bucket, Prefix: config.prefix }));
    assert.equal(uploads.Uploads?.length, 1);
    const parts = await client.send(new ListPartsCommand({ Bucket: config.bucket, Key: uploads.Uploads![0]!.Key, UploadId: uploads.Uploads![0]!.UploadId }));
    assert.deepEqual(parts.Parts?.map((p) => p.Size), [5 * MiB, 5 * MiB]);
    client.destroy();
    await assert.rejects(b.appendUpload('multi', 3, Readable.from([Buffer.from('x')])), /does not match/);
    assert.ok((await bytesOf(await b.readUpload('multi'))).equals(data));
    await a.commitUpload('multi', 'blobs/multi');
    assert.ok((await bytesOf(await b.read('blobs/multi'))).equals(data));
    assert.equal(await a.uploadSize('multi'), null);
  } finally {
    await emptyPrefix(config);
  }
});

test('s3: a small blob never starts a multipart upload, and commit leaves nothing staged', async () => {
  const config = testS3Config();
  const driver = new S3Driver(config);
  try {
    await driver.createUpload('tiny');
    await driver.appendUpload('tiny', 0, Readable.from([Buffer.from('hello ')]));
    await driver.appendUpload('tiny', 6, Readable.from([Buffer.from('world')]));
    await driver.commitUpload('tiny', 'blobs/tiny');
    assert.equal((await bytesOf(await driver.read('blobs/tiny'))).toString(), 'hello world');
    const client = createS3Client(config);
    const left = await client.send(new ListObjectsV2Command({ Bucket: config.bucket, Prefix: `${config.prefix}_uploads/` }));
    assert.equal(left.KeyCount, 0);
    const uploads = await client.send(new ListMultipartUploadsCommand({ Bucket: config.bucket, Prefix: config.prefix }));
    assert.equal(uploads.Uploads?.length ?? 0, 0);
    client.destroy();
  } finally {
    await emptyPrefix(config);
  }
});

test('s3: listUploads finds a multipart upload a crash left without its objects, and abortUpload removes it', async () => {
  const config = testS3Config();
  const driver = new S3Driver(config);
  const client = createS3Client(config);
  try {
    await client.send(new CreateMultipartUploadCommand({ Bucket: config.bucket, Key: `${config.prefix}_uploads/orphan/data` }));
    const listed = [];
    for await (const u of driver.listUploads()) listed.push(u.id);
    assert.deepEqual(listed, ['orphan']);
    await driver.abortUpload('orphan');
    const uploads = await client.send(new ListMultipartUploadsCommand({ Bucket: config.bucket, Prefix: config.prefix }));
    assert.equal(uploads.Uploads?.length ?? 0, 0);
  } finally {
    client.destroy();
    await emptyPrefix(config);
  }
});

test('s3: with redirect on, redirectUrl is a presigned URL the client can fetch (ranges too); off, there is none', async () => {
  const config = testS3Config({ redirect: true });
  const driver = new S3Driver(config);
  try {
    const data = randomBytes(100_000);
    await driver.createUpload('r');
    await driver.appendUpload('r', 0, Readable.from([data]));
    await driver.commitUpload('r', 'blobs/r');
    const url = await driver.redirectUrl('blobs/r');
    assert.ok(url?.includes('X-Amz-Signature='));
    const whole = await fetch(url!);
    assert.equal(whole.status, 200);
    assert.ok(Buffer.from(await whole.arrayBuffer()).equals(data));
    const ranged = await fetch(url!, { headers: { Range: 'bytes=99990-' } });
    assert.equal(ranged.status, 206);
    assert.ok(Buffer.from(await ranged.arrayBuffer()).equals(data.subarray(99_990)));
    const tampered = await fetch(url!.replace('blobs/r', 'blobs/x'));
    assert.equal(tampered.status, 403, 'the signature covers the key');
    assert.equal(await new S3Driver({ ...config, redirect: false }).redirectUrl('blobs/r'), null);
  } finally {
    await emptyPrefix(config);
  }
});

test('s3: wrong credentials are an error, never a silent success', async () => {
  const config = testS3Config({ secretAccessKey: 'wrong' });
  const driver = new S3Driver(config);
  await assert.rejects(driver.createUpload('denied'), (err: Error) => /SignatureDoesNotMatch|AccessDenied|InvalidAccessKeyId/.test(err.name + err.message));
});
