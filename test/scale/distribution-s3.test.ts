// A registry:2 deployment on S3 (the Dokploy / Cloudflare R2 compose block) moved to Wharf unchanged: the real
// `wharf serve` started with only REGISTRY_* variables (then the same settings as a config.yml), pointed at the real
// radosgw of scripts/with-services.sh. Anonymous pushes are refused, skopeo pushes with credentials, the blobs are
// objects in the bucket, pulls come back intact (through Distribution's default redirect to the bucket), deletes work.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFile, rm, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { createS3Client } from '../../src/storage/s3/client.js';
import type { S3Config } from '../../src/storage/s3/config.js';
import { buildImage, loadImage, verifyLayoutBlobs, type BuiltImage } from '../interop/support/oci.js';
import { skopeoCopy } from '../interop/support/skopeo.js';
import { emptyPrefix, testS3Config } from '../support/s3.js';
import { freePort, tempDir, wharfMain } from '../support/processes.js';
import { cleanEnv, killAll, skopeo, startUntilReady, v2Answers, type Started } from '../support/started.js';

const exec = promisify(execFile);
const MiB = 1024 * 1024;
const user = 'deployer';
const password = 'r2 compose secret';
const creds = `${user}:${password}`;
const basic = { authorization: `Basic ${Buffer.from(creds).toString('base64')}` };

interface Served extends Started {
  readonly url: string;
  readonly host: string;
}

/** `wharf serve [--config FILE]` in `cwd` (where its database goes by default) until /v2/ answers. */
async function serve(cwd: string, port: number, env: NodeJS.ProcessEnv, file?: string): Promise<Served> {
  const url = `http://127.0.0.1:${port}`;
  const started = await startUntilReady(process.execPath, [wharfMain, 'serve', ...(file ? ['--config', file] : [])], { env, cwd, ready: v2Answers(url) });
  return { ...started, url, host: `127.0.0.1:${port}` };
}

/** Every object key under `prefix` with its size. */
async function objects(s3: S3Config, prefix: string): Promise<Map<string, number>> {
  const client = createS3Client(s3);
  const found = new Map<string, number>();
  let token: string | undefined;
  try {
    do {
      const page = await client.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: prefix, ContinuationToken: token }));
      for (const o of page.Contents ?? []) found.set(o.Key!, o.Size ?? -1);
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  } finally {
    client.destroy();
  }
  return found;
}

describe('a Distribution S3 deployment (REGISTRY_* / config.yml) served by Wharf on radosgw', () => {
  let work = '';
  let s3: S3Config;
  let image: BuiltImage;
  let htpasswd = '';
  const prefixes: string[] = [];

  before(async () => {
    s3 = testS3Config();
    work = await tempDir('dist-s3');
    image = await buildImage(join(work, 'src'), 'app', [
      { files: [{ path: 'etc/motd', content: 'served from a bucket\n' }] },
      // Above S3's 5 MiB part minimum: the blob is written as a multipart upload.
      { files: [{ path: 'srv/data.bin', size: 7 * MiB }] },
    ]);
    htpasswd = join(work, 'htpasswd');
    await writeFile(htpasswd, (await exec('htpasswd', ['-Bbn', user, password])).stdout);
  });

  after(async () => {
    killAll();
    for (const prefix of prefixes) await emptyPrefix({ ...s3, prefix });
    if (work) await rm(work, { recursive: true, force: true });
  });

  /** The compose block's storage settings, `rootdirectory` giving this run its own part of the shared bucket. */
  function storageEnv(root: string): Record<string, string> {
    prefixes.push(`${root}/`);
    return {
      REGISTRY_STORAGE: 's3',
      REGISTRY_STORAGE_S3_ACCESSKEY: s3.accessKeyId!,
      REGISTRY_STORAGE_S3_SECRETKEY: s3.secretAccessKey!,
      REGISTRY_STORAGE_S3_REGION: s3.region,
      REGISTRY_STORAGE_S3_REGIONENDPOINT: s3.endpoint!,
      REGISTRY_STORAGE_S3_BUCKET: s3.bucket!,
      REGISTRY_STORAGE_S3_FORCEPATHSTYLE: 'true',
      REGISTRY_STORAGE_S3_ROOTDIRECTORY: `/${root}`,
      REGISTRY_STORAGE_DELETE_ENABLED: 'true',
    };
  }

  /** Push (anonymous refused), objects in the bucket, pull back, delete; `redirects`: blob GETs answer 307 to the bucket. */
  async function exercise(reg: Served, root: string, redirects: boolean): Promise<void> {
    const anonymous = await fetch(`${reg.url}/v2/team/app/blobs/uploads/`, { method: 'POST' });
    assert.equal(anonymous.status, 401);
    assert.match(anonymous.headers.get('www-authenticate') ?? '', /^Basic realm="Registry Realm"/);
    const refused = await skopeo(['copy', '--dest-tls-verify=false', `oci:${join(work, 'src')}:app`, `docker://${reg.host}/team/app:v1`]);
    assert.notEqual(refused.code, 0, 'an anonymous skopeo push must fail');
    assert.match(refused.output, /unauthorized|authentication required|401/i);

    await skopeoCopy(`oci:${join(work, 'src')}:app`, `docker://${reg.host}/team/app:v1`, ['--dest-creds', creds]);

    // The blobs are objects in the bucket, under the rootdirectory, with their exact sizes.
    const stored = await objects(s3, `${root}/`);
    for (const layer of image.manifest.layers) {
      const key = [...stored.keys()].find((k) => k.endsWith(`/${layer.digest.slice('sha256:'.length)}`));
      assert.ok(key, `layer ${layer.digest} not in the bucket: ${[...stored.keys()].join(', ')}`);
      assert.ok(key.startsWith(`${root}/`));
      assert.equal(stored.get(key), layer.size);
    }

    const big = image.manifest.layers.reduce((a, b) => (a.size > b.size ? a : b));
    const blob = await fetch(`${reg.url}/v2/team/app/blobs/${big.digest}`, { headers: basic, redirect: 'manual' });
    if (redirects) {
      assert.equal(blob.status, 307, 'Distribution redirects blob downloads to the bucket unless storage.redirect.disable');
      assert.ok(blob.headers.get('location')!.startsWith(s3.endpoint!), blob.headers.get('location')!);
    } else {
      assert.equal(blob.status, 200);
      assert.equal(Buffer.from(await blob.arrayBuffer()).length, big.size);
    }

    const out = join(work, `pulled-${root}`);
    await mkdir(out, { recursive: true });
    await skopeoCopy(`docker://${reg.host}/team/app:v1`, `oci:${out}:app`, ['--src-creds', creds]);
    const blobs = await verifyLayoutBlobs(out);
    assert.equal((await loadImage(out, 'app')).descriptor.digest, image.manifestDigest);
    for (const layer of image.manifest.layers) assert.equal(blobs.get(layer.digest), layer.size);

    const deleted = await skopeo(['delete', '--tls-verify=false', '--creds', creds, `docker://${reg.host}/team/app@${image.manifestDigest}`]);
    assert.equal(deleted.code, 0, deleted.output);
    const gone = await fetch(`${reg.url}/v2/team/app/manifests/${image.manifestDigest}`, { headers: basic });
    assert.equal(gone.status, 404);
    assert.ok(!reg.output().includes(s3.secretAccessKey!), 'the secret key never reaches the log');
  }

  test('only the REGISTRY_* compose environment (no Wharf configuration)', async () => {
    const cwd = join(work, 'env');
    await mkdir(cwd, { recursive: true });
    const [port, debugPort] = [await freePort(), await freePort()];
    const root = `${s3.prefix}env`;
    const env = cleanEnv({
      ...storageEnv(root),
      REGISTRY_AUTH: 'htpasswd',
      REGISTRY_AUTH_HTPASSWD_REALM: 'Registry Realm',
      REGISTRY_AUTH_HTPASSWD_PATH: htpasswd,
      REGISTRY_HTTP_ADDR: `127.0.0.1:${port}`,
      REGISTRY_HTTP_DEBUG_ADDR: `127.0.0.1:${debugPort}`,
    });
    const reg = await serve(cwd, port, env);
    try {
      await exercise(reg, root, true);
    } finally {
      await reg.stop();
    }
    // A conversion warning names the variable that set the key ("REGISTRY_X (storage.s3.x): …").
    assert.doesNotMatch(reg.output(), /REGISTRY_[A-Z0-9_]+ \(/, 'the R2 block converts without a warning');
  });

  test('the same settings as a config.yml, with storage.redirect.disable: Wharf streams the blobs', async () => {
    const cwd = join(work, 'yml');
    await mkdir(cwd, { recursive: true });
    const port = await freePort();
    const root = `${s3.prefix}yml`;
    const settings = storageEnv(root);
    const file = join(cwd, 'config.yml');
    await writeFile(
      file,
      `version: 0.1
log:
  fields:
    service: registry
storage:
  s3:
    accesskey: ${settings.REGISTRY_STORAGE_S3_ACCESSKEY}
    secretkey: ${settings.REGISTRY_STORAGE_S3_SECRETKEY}
    region: ${settings.REGISTRY_STORAGE_S3_REGION}
    regionendpoint: ${settings.REGISTRY_STORAGE_S3_REGIONENDPOINT}
    bucket: ${settings.REGISTRY_STORAGE_S3_BUCKET}
    forcepathstyle: true
    rootdirectory: /${root}
    chunksize: 5242880
  delete:
    enabled: true
  redirect:
    disable: true
http:
  addr: 127.0.0.1:${port}
  debug:
    addr: 127.0.0.1:${await freePort()}
auth:
  htpasswd:
    realm: Registry Realm
    path: ${htpasswd}
`,
    );
    const reg = await serve(cwd, port, cleanEnv({}), file);
    try {
      await exercise(reg, root, false);
      assert.match(reg.output(), /log\.fields: /, 'dropped keys are named at start');
    } finally {
      await reg.stop();
    }
  });
});
