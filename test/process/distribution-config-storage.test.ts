// Distribution's storage settings through the real `wharf` process: maintenance.readonly (as a REGISTRY_* variable
// and in a config.yml) on a data directory seeded by a normal start, and `wharf config convert --env` of the
// S3 / Cloudflare R2 compose block (served against real S3 in test/scale/distribution-s3.test.ts).
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { parse } from 'yaml';
import { wharfCli } from '../support/cli.js';
import { freePort, tempDir, wharfMain } from '../support/processes.js';
import { cleanEnv, killAll, startUntilReady, v2Answers } from '../support/started.js';

const dirs: string[] = [];
after(async () => {
  killAll();
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

/** `wharf serve ARGS` until /v2/ answers. */
const serve = (args: string[], env: Record<string, string>, url: string) => startUntilReady(process.execPath, [wharfMain, 'serve', ...args], { env, ready: v2Answers(url) });

const digest = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

function image(name: string): { blobs: Buffer[]; manifest: Buffer } {
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }));
  const layer = Buffer.from(`layer of ${name}`);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: digest(config), size: config.length },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: digest(layer), size: layer.length }],
    }),
  );
  return { blobs: [config, layer], manifest };
}

async function pushBlob(url: string, repo: string, blob: Buffer): Promise<Response> {
  return fetch(`${url}/v2/${repo}/blobs/uploads/?digest=${digest(blob)}`, { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: new Uint8Array(blob) });
}

async function putManifest(url: string, repo: string, tag: string, manifest: Buffer): Promise<Response> {
  return fetch(`${url}/v2/${repo}/manifests/${tag}`, { method: 'PUT', headers: { 'content-type': OCI_MANIFEST }, body: new Uint8Array(manifest) });
}

async function expectUnsupported(res: Response, what: string): Promise<void> {
  const body = await res.text();
  assert.equal(res.status, 405, `${what}: ${res.status} ${body}`);
  assert.equal((JSON.parse(body) as { errors: { code: string }[] }).errors[0]?.code, 'UNSUPPORTED', what);
}

/** Pulls of the seeded image answer; a push (blob upload, manifest PUT) and a delete are 405 UNSUPPORTED. */
async function expectReadOnly(url: string, seeded: { blobs: Buffer[]; manifest: Buffer }): Promise<void> {
  const manifest = await fetch(`${url}/v2/seeded/manifests/v1`, { headers: { accept: OCI_MANIFEST } });
  assert.equal(manifest.status, 200);
  assert.ok(Buffer.from(await manifest.arrayBuffer()).equals(seeded.manifest));
  const layer = await fetch(`${url}/v2/seeded/blobs/${digest(seeded.blobs[1]!)}`);
  assert.equal(layer.status, 200);
  assert.ok(Buffer.from(await layer.arrayBuffer()).equals(seeded.blobs[1]!));
  assert.deepEqual(((await (await fetch(`${url}/v2/seeded/tags/list`)).json()) as { tags: string[] }).tags, ['v1']);

  const fresh = image('fresh');
  await expectUnsupported(await pushBlob(url, 'fresh', fresh.blobs[1]!), 'blob upload');
  await expectUnsupported(await fetch(`${url}/v2/fresh/blobs/uploads/`, { method: 'POST' }), 'upload session');
  await expectUnsupported(await putManifest(url, 'seeded', 'v2', seeded.manifest), 'manifest PUT of known blobs');
  await expectUnsupported(await fetch(`${url}/v2/seeded/manifests/${digest(seeded.manifest)}`, { method: 'DELETE' }), 'manifest DELETE');
  assert.equal((await fetch(`${url}/v2/seeded/manifests/v1`, { method: 'HEAD' })).status, 200, 'nothing was deleted');
}

test('maintenance.readonly from REGISTRY_* and from a config.yml: pulls go on, pushes and deletes are 405 UNSUPPORTED', async () => {
  const dir = await tempDir('distcfg-ro');
  dirs.push(dir);
  const root = join(dir, 'registry');
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const base = {
    REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY: root,
    REGISTRY_STORAGE_DELETE_ENABLED: 'true',
    REGISTRY_HTTP_ADDR: `127.0.0.1:${port}`,
    REGISTRY_HTTP_DEBUG_ADDR: `127.0.0.1:${await freePort()}`,
  };

  // Seed with a normal start on the same root directory.
  const seeded = image('seeded');
  const writable = await serve([], cleanEnv(base), url);
  try {
    for (const blob of seeded.blobs) assert.equal((await pushBlob(url, 'seeded', blob)).status, 201);
    assert.equal((await putManifest(url, 'seeded', 'v1', seeded.manifest)).status, 201);
  } finally {
    await writable.stop();
  }

  const fromEnv = await serve([], cleanEnv({ ...base, REGISTRY_STORAGE_MAINTENANCE_READONLY_ENABLED: 'true' }), url);
  try {
    await expectReadOnly(url, seeded);
  } finally {
    await fromEnv.stop();
  }

  const file = join(dir, 'config.yml');
  await writeFile(
    file,
    `version: 0.1
storage:
  filesystem:
    rootdirectory: ${root}
  delete:
    enabled: true
  maintenance:
    readonly:
      enabled: true
http:
  addr: 127.0.0.1:${port}
  debug:
    addr: ${base.REGISTRY_HTTP_DEBUG_ADDR}
`,
  );
  const fromFile = await serve(['--config', file], cleanEnv({}), url);
  try {
    await expectReadOnly(url, seeded);
  } finally {
    await fromFile.stop();
  }

  // And back to a normal start: the same push is accepted again.
  const again = await serve([], cleanEnv(base), url);
  try {
    assert.equal((await pushBlob(url, 'fresh', image('fresh').blobs[1]!)).status, 201);
  } finally {
    await again.stop();
  }
});

test('config convert --env of the R2 compose block: Wharf S3 settings that pass validation, no warning', async () => {
  const r2 = {
    REGISTRY_STORAGE: 's3',
    REGISTRY_STORAGE_S3_ACCESSKEY: 'AKIAEXAMPLE',
    REGISTRY_STORAGE_S3_SECRETKEY: 'r2-secret',
    REGISTRY_STORAGE_S3_REGION: 'auto',
    REGISTRY_STORAGE_S3_REGIONENDPOINT: 'https://0123abcd.r2.cloudflarestorage.com',
    REGISTRY_STORAGE_S3_BUCKET: 'registry',
    REGISTRY_STORAGE_S3_FORCEPATHSTYLE: 'true',
    REGISTRY_STORAGE_S3_CHUNKSIZE: '10485760',
    REGISTRY_STORAGE_DELETE_ENABLED: 'true',
    REGISTRY_AUTH: 'htpasswd',
    REGISTRY_AUTH_HTPASSWD_REALM: 'Registry Realm',
    REGISTRY_AUTH_HTPASSWD_PATH: '/auth/htpasswd',
  };
  const converted = await wharfCli(['config', 'convert', '--env'], { env: cleanEnv(r2) });
  assert.equal(converted.code, 0, converted.stderr);
  assert.equal(converted.stderr, '', 'no warning');
  const out = parse(converted.stdout) as { storage: Record<string, unknown>; registry: Record<string, unknown> };
  assert.deepEqual(out.storage, {
    driver: 's3',
    s3: {
      accessKeyId: 'AKIAEXAMPLE',
      secretAccessKey: 'r2-secret',
      region: 'auto',
      endpoint: 'https://0123abcd.r2.cloudflarestorage.com',
      bucket: 'registry',
      forcePathStyle: true,
      partSize: 10485760,
      redirect: true,
    },
  });
  assert.equal(out.registry.deleteEnabled, true);

  // A chunk size Distribution refuses too: an error naming the variable, no stack trace.
  const small = await wharfCli(['config', 'convert', '--env'], { env: cleanEnv({ ...r2, REGISTRY_STORAGE_S3_CHUNKSIZE: '1048576' }) });
  assert.equal(small.code, 2);
  assert.match(small.stderr, /REGISTRY_STORAGE_S3_CHUNKSIZE \(storage\.s3\.chunksize\): expected a number of bytes of at least 5242880/);
  assert.doesNotMatch(small.stderr, /\n\s+at /);
});

test('wharf --help says a Distribution config.yml and REGISTRY_* variables are accepted', async () => {
  const help = await wharfCli(['--help'], { env: cleanEnv({}) });
  assert.equal(help.code, 0, help.stderr);
  assert.match(help.stdout, /Distribution \(registry:2\) config\.yml and its REGISTRY_\* variables are accepted/);
});
