// A real `wharf serve` with storage.driver s3 on real radosgw: skopeo pushes and pulls a multi-layer image, a
// client pushes in chunks smaller than S3's 5 MiB part minimum, and with storage.s3.redirect a blob GET answers
// 307 to a presigned URL that serves the bytes.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startWharf, tempDir, type RunningRegistry } from '../support/processes.js';
import { buildImage, loadImage, verifyLayoutBlobs, type BuiltImage } from '../interop/support/oci.js';
import { skopeoCopy, skopeoInspectRaw } from '../interop/support/skopeo.js';
import { emptyPrefix, testS3Config } from '../support/s3.js';
import type { S3Config } from '../../src/storage/s3/config.js';

const MiB = 1024 * 1024;
const sha256 = (data: Buffer): string => `sha256:${createHash('sha256').update(data).digest('hex')}`;

function s3Yaml(config: S3Config): string {
  return [
    'storage:',
    '  driver: s3',
    '  s3:',
    `    bucket: ${config.bucket}`,
    `    endpoint: ${config.endpoint}`,
    '    forcePathStyle: true',
    `    prefix: ${config.prefix}`,
    `    redirect: ${config.redirect}`,
    '',
  ].join('\n');
}

/** Secrets come from the environment variables the AWS SDK's default chain reads, never from the config file. */
function s3Env(config: S3Config): Record<string, string> {
  return { AWS_ACCESS_KEY_ID: config.accessKeyId!, AWS_SECRET_ACCESS_KEY: config.secretAccessKey! };
}

/** POST, then PATCH chunks of `chunkSize` with Content-Range, then PUT ?digest=: how Docker pushes in chunks. */
async function pushChunked(url: string, repo: string, data: Buffer, chunkSize: number): Promise<string> {
  const digest = sha256(data);
  const start = await fetch(`${url}/v2/${repo}/blobs/uploads/`, { method: 'POST' });
  assert.equal(start.status, 202);
  let location = new URL(start.headers.get('location')!, url).toString();
  for (let offset = 0; offset < data.length; offset += chunkSize) {
    const chunk = data.subarray(offset, offset + chunkSize);
    const res = await fetch(location, {
      method: 'PATCH',
      headers: { 'Content-Type': 'application/octet-stream', 'Content-Range': `${offset}-${offset + chunk.length - 1}`, 'Content-Length': String(chunk.length) },
      body: new Uint8Array(chunk),
    });
    assert.equal(res.status, 202, await res.text());
    assert.equal(res.headers.get('range'), `0-${offset + chunk.length - 1}`);
    location = new URL(res.headers.get('location')!, url).toString();
  }
  const put = await fetch(`${location}${location.includes('?') ? '&' : '?'}digest=${digest}`, { method: 'PUT' });
  assert.equal(put.status, 201, await put.text());
  return digest;
}

describe('wharf serve on S3 (radosgw)', () => {
  let work = '';
  let image: BuiltImage;
  let config: S3Config;
  let reg: RunningRegistry | undefined;

  before(async () => {
    config = testS3Config();
    work = await tempDir('s3-serve');
    image = await buildImage(join(work, 'src'), 'app', [
      { files: [{ path: 'etc/hello.txt', content: 'hello from wharf on s3\n' }] },
      { files: [{ path: 'srv/medium.bin', size: 700 * 1024 }] },
      { files: [{ path: 'srv/large.bin', size: 23 * MiB }] },
    ]);
    reg = await startWharf({ configYaml: s3Yaml(config), env: s3Env(config) });
  });

  after(async () => {
    await reg?.stop();
    if (work) await rm(work, { recursive: true, force: true });
    if (config) await emptyPrefix(config);
  });

  test('skopeo pushes a multi-layer image and pulls it back intact', async () => {
    await skopeoCopy(`oci:${join(work, 'src')}:app`, `docker://${reg!.host}/s3/app:v1`);
    const raw = await skopeoInspectRaw(`docker://${reg!.host}/s3/app:v1`);
    assert.ok(raw.equals(image.manifestBytes));
    const out = join(work, 'pulled');
    await skopeoCopy(`docker://${reg!.host}/s3/app:v1`, `oci:${out}:app`);
    const blobs = await verifyLayoutBlobs(out);
    const pulled = await loadImage(out, 'app');
    assert.equal(pulled.descriptor.digest, image.manifestDigest);
    for (const layer of image.manifest.layers) assert.equal(blobs.get(layer.digest), layer.size);
    assert.ok(!reg!.output().includes(config.secretAccessKey!), 'the secret key never reaches the log');
  });

  test('a push in 1 MiB chunks (below the 5 MiB part minimum) commits the exact bytes, served whole and in ranges', async () => {
    const data = randomBytes(12 * MiB + 12345);
    const digest = await pushChunked(reg!.url, 's3/chunked', data, 1 * MiB);
    const res = await fetch(`${reg!.url}/v2/s3/chunked/blobs/${digest}`);
    assert.equal(res.status, 200);
    assert.ok(Buffer.from(await res.arrayBuffer()).equals(data));
    const ranged = await fetch(`${reg!.url}/v2/s3/chunked/blobs/${digest}`, { headers: { Range: `bytes=${5 * MiB - 2}-${5 * MiB + 1}` } });
    assert.equal(ranged.status, 206);
    assert.ok(Buffer.from(await ranged.arrayBuffer()).equals(data.subarray(5 * MiB - 2, 5 * MiB + 2)));
    const wrong = await fetch(`${reg!.url}/v2/s3/chunked/blobs/uploads/`, { method: 'POST' });
    const loc = new URL(wrong.headers.get('location')!, reg!.url).toString();
    const bad = await fetch(`${loc}${loc.includes('?') ? '&' : '?'}digest=${sha256(Buffer.from('other'))}`, { method: 'PUT', body: new Uint8Array(Buffer.from("not other")) });
    assert.equal(bad.status, 400, 'a digest mismatch is refused');
  });

  test('with storage.s3.redirect, blob GET answers 307 to a presigned URL that serves the bytes', async () => {
    const redirecting = await startWharf({ configYaml: s3Yaml({ ...config, redirect: true }), env: s3Env(config) });
    try {
      const data = randomBytes(2 * MiB);
      const digest = await pushChunked(redirecting.url, 's3/redirect', data, 2 * MiB);
      const res = await fetch(`${redirecting.url}/v2/s3/redirect/blobs/${digest}`, { redirect: 'manual' });
      assert.equal(res.status, 307);
      const location = res.headers.get('location')!;
      assert.ok(location.startsWith(config.endpoint!) && location.includes('X-Amz-Signature='), location);
      const direct = await fetch(location);
      assert.ok(Buffer.from(await direct.arrayBuffer()).equals(data));
      const head = await fetch(`${redirecting.url}/v2/s3/redirect/blobs/${digest}`, { method: 'HEAD' });
      assert.equal(head.status, 200, 'HEAD is answered by Wharf');
      assert.equal(head.headers.get('content-length'), String(data.length));
    } finally {
      await redirecting.stop();
    }
  });
});
