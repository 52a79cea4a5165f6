// `wharf fsck` as a separate process against the data dir of a registry that keeps serving.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { wharfCli } from '../support/cli.js';
import { startWharf } from '../support/processes.js';
import { OCI_MANIFEST, pushBlob, sha256 as sha } from '../support/push.js';

/** `wharf fsck ARGS` through the built CLI. */
const fsck = (args: string[]) => wharfCli(['fsck', ...args], { env: { UV_THREADPOOL_SIZE: '16' } });

async function pushImage(url: string, repo: string, tag: string, layers: Buffer[]): Promise<{ digest: string; config: string; layers: string[] }> {
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', nonce: randomBytes(8).toString('hex') }));
  const configDigest = await pushBlob(url, repo, config);
  const layerDigests: string[] = [];
  for (const l of layers) layerDigests.push(await pushBlob(url, repo, l));
  const body = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configDigest, size: config.length },
      layers: layers.map((l, i) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: layerDigests[i], size: l.length })),
    }),
  );
  const res = await fetch(`${url}/v2/${repo}/manifests/${tag}`, { method: 'PUT', body: new Uint8Array(body), headers: { 'Content-Type': OCI_MANIFEST } });
  await res.arrayBuffer();
  assert.equal(res.status, 201);
  return { digest: sha(body), config: configDigest, layers: layerDigests };
}

async function getBlob(url: string, repo: string, digest: string): Promise<{ status: number; body: Buffer }> {
  const res = await fetch(`${url}/v2/${repo}/blobs/${digest}`);
  return { status: res.status, body: Buffer.from(await res.arrayBuffer()) };
}

test('fsck finds a corrupted blob behind a serving registry, --repair stops it being served, a re-push restores it', async (t) => {
  const wharf = await startWharf();
  t.after(() => wharf.stop());
  const url = wharf.url;
  const bad = randomBytes(40_000);
  const good = randomBytes(30_000);
  const shared = randomBytes(20_000);
  const app = await pushImage(url, 'team/app', 'v1', [bad, shared]);
  const tool = await pushImage(url, 'team/tool', 'latest', [good, shared]);
  const badDigest = app.layers[0]!;
  const dataDir = wharf.dataDir;
  const file = join(dataDir, 'storage', 'blobs', 'sha256', badDigest.slice(7, 9), badDigest.slice(7));

  const clean = await fsck(['--data-dir', dataDir]);
  assert.equal(clean.code, 0, clean.stdout + clean.stderr);
  assert.match(clean.stdout, /checked 5 blobs .* no problems/);

  const garbage = randomBytes(bad.length);
  await writeFile(file, garbage);
  const found = await fsck(['--data-dir', dataDir]);
  assert.equal(found.code, 1, found.stdout + found.stderr);
  assert.match(found.stdout, new RegExp(`^corrupt +${badDigest} \\(39\\.1 KiB\\): its bytes do not match the digest$`, 'm'));
  assert.match(found.stdout, new RegExp(`breaks: team/app@${app.digest}`));
  assert.match(found.stdout, /1 corrupt/);
  assert.match(found.stderr, /fsck \[#+\] 100%|fsck: checking references/, 'progress lines on stderr');

  const json = await fsck(['--data-dir', dataDir, '--json']);
  assert.equal(json.code, 1);
  const lines = json.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.deepEqual(
    lines.map((l) => [l.kind, l.digest ?? null, l.size ?? null, l.manifests ?? null]),
    [
      ['corrupt', badDigest, bad.length, [`team/app@${app.digest}`]],
      ['summary', null, null, null],
    ],
  );

  // While the registry serves: --repair quarantines the bad bytes.
  const repaired = await fsck(['--data-dir', dataDir, '--repair']);
  assert.equal(repaired.code, 1, 'problems were found (and repaired)');
  assert.match(repaired.stdout, /quarantined: moved to quarantine\/sha256\/[a-f0-9]{64}-\d{8}T\d{9}Z; clients get BLOB_UNKNOWN/);
  const quarantine = join(dataDir, 'storage', 'quarantine', 'sha256');
  const [copy] = await readdir(quarantine);
  assert.deepEqual(await readFile(join(quarantine, copy!)), garbage, 'the bad bytes are kept for inspection');

  const gone = await fetch(`${url}/v2/team/app/blobs/${badDigest}`);
  assert.equal(gone.status, 404);
  assert.equal(((await gone.json()) as { errors: { code: string }[] }).errors[0]!.code, 'BLOB_UNKNOWN');
  // Everything else is still served, from both repositories.
  for (const [repo, digest, data] of [
    ['team/app', app.layers[1]!, shared],
    ['team/tool', tool.layers[0]!, good],
    ['team/tool', tool.layers[1]!, shared],
  ] as const) {
    const res = await getBlob(url, repo, digest);
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, data);
  }
  assert.equal((await fetch(`${url}/v2/team/tool/manifests/latest`, { headers: { Accept: OCI_MANIFEST } })).status, 200);

  // What is left: team/app:v1 references a blob the registry no longer has, until a client pushes it again.
  const left = await fsck(['--data-dir', dataDir]);
  assert.equal(left.code, 1);
  assert.match(left.stdout, new RegExp(`^missing +${badDigest} \\(39\\.1 KiB\\): referenced by manifests, but the registry has no copy$`, 'm'));
  assert.doesNotMatch(left.stdout, /^corrupt/m);

  await pushBlob(url, 'team/app', bad);
  const restored = await getBlob(url, 'team/app', badDigest);
  assert.equal(restored.status, 200);
  assert.deepEqual(restored.body, bad);
  const after = await fsck(['--data-dir', dataDir]);
  assert.equal(after.code, 0, after.stdout + after.stderr);
  assert.match(after.stdout, /no problems/);
});

test('fsck usage errors exit 2', async () => {
  const unknown = await fsck(['--bogus']);
  assert.equal(unknown.code, 2, unknown.stderr);
  assert.match(unknown.stderr, /usage: wharf fsck/);
  const rate = await fsck(['--rate', 'fast']);
  assert.equal(rate.code, 2);
  assert.match(rate.stderr, /--rate/);
});

test('the background scrub of a serving registry logs and counts a corrupted blob, and repairs nothing', async (t) => {
  const wharf = await startWharf({ configYaml: 'fsck:\n  scrub:\n    enabled: true\n    rate: 10485760\n    interval: 100ms\n' });
  let stopped = false;
  t.after(async () => {
    if (!stopped) await wharf.stop();
  });
  const layer = randomBytes(50_000);
  const app = await pushImage(wharf.url, 'team/app', 'v1', [layer]);
  const digest = app.layers[0]!;
  await writeFile(join(wharf.dataDir, 'storage', 'blobs', 'sha256', digest.slice(7, 9), digest.slice(7)), randomBytes(layer.length));
  const listening = wharf.output().split('\n').find((l) => l.includes('"wharf listening"'));
  const metricsPort = (JSON.parse(listening ?? '{}') as { metricsPort?: number }).metricsPort;
  assert.ok(metricsPort);

  const deadline = Date.now() + 15_000;
  let metrics = '';
  while (Date.now() < deadline) {
    metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    if (/^wharf_scrub_problems_total\{kind="corrupt"\} [1-9]/m.test(metrics)) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.match(metrics, /^wharf_scrub_problems_total\{kind="corrupt"\} [1-9]/m, 'the corruption is counted');
  assert.match(metrics, /^wharf_scrub_checked_bytes_total [1-9]/m);
  const logged = wharf
    .output()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { level: string; msg: string })
    .find((l) => l.msg.startsWith(`scrub: corrupt blob ${digest}`));
  assert.ok(logged, 'the corruption is logged');
  assert.equal(logged.level, 'error', 'as an error');
  // Never repaired by the scrub: the record stays (fsck --repair is the operator's call).
  assert.equal((await fetch(`${wharf.url}/v2/team/app/blobs/${digest}`, { method: 'HEAD' })).status, 200);
  // It stops with the server, cleanly.
  stopped = true;
  await wharf.stop();
  assert.equal(wharf.process.exitCode, 0, wharf.output().slice(-2000));
});
