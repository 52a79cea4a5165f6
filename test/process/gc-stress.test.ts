// Online GC under load: pushers keep pushing and re-tagging while scheduled GC passes run every 200 ms.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { startWharf } from '../support/processes.js';

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const sha = (data: Buffer) => `sha256:${createHash('sha256').update(data).digest('hex')}`;

interface Pushed {
  readonly digest: string;
  readonly blobs: readonly string[];
}

async function pushBlob(url: string, repo: string, data: Buffer): Promise<string> {
  const digest = sha(data);
  const head = await fetch(`${url}/v2/${repo}/blobs/${digest}`, { method: 'HEAD' });
  if (head.status === 200) return digest; // as real clients do: skip what the registry already has
  const res = await fetch(`${url}/v2/${repo}/blobs/uploads/?digest=${digest}`, {
    method: 'POST',
    body: new Uint8Array(data),
    headers: { 'Content-Type': 'application/octet-stream' },
  });
  await res.arrayBuffer();
  if (res.status !== 201) throw new Error(`blob push answered ${res.status}`);
  return digest;
}

async function pushImage(url: string, repo: string, tag: string, base: Buffer): Promise<Pushed | null> {
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', nonce: randomBytes(8).toString('hex') }));
  const layers = [base, randomBytes(1024 + Math.floor(Math.random() * 64 * 1024))];
  const blobs = [await pushBlob(url, repo, config), ...(await Promise.all(layers.map((l) => pushBlob(url, repo, l))))];
  const body = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: blobs[0], size: config.length },
      layers: layers.map((l, i) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: blobs[i + 1], size: l.length })),
    }),
  );
  const res = await fetch(`${url}/v2/${repo}/manifests/${tag}`, { method: 'PUT', body: new Uint8Array(body), headers: { 'Content-Type': OCI_MANIFEST } });
  await res.arrayBuffer();
  // Not acknowledged (e.g. a blob GC took between our HEAD and this PUT): the client would retry; nothing is lost.
  if (res.status !== 201) return null;
  return { digest: sha(body), blobs };
}

async function countBlobFiles(root: string): Promise<number> {
  let n = 0;
  for (const alg of await readdir(root).catch(() => [])) {
    for (const fan of await readdir(join(root, alg))) n += (await readdir(join(root, alg, fan))).length;
  }
  return n;
}

test('GC looping during concurrent pushes and re-tags never loses an acknowledged, tagged image, and reclaims the rest', async (t) => {
  const wharf = await startWharf({
    configYaml: 'gc:\n  enabled: true\n  interval: 200ms\n  gracePeriod: 1s\n  deleteUntagged: true\n',
  });
  const listening = wharf.output().split('\n').find((l) => l.includes('"wharf listening"'));
  const metricsPort = (JSON.parse(listening ?? '{}') as { metricsPort?: number }).metricsPort;
  assert.ok(metricsPort, 'the startup line names the metrics port');
  try {
    const base = randomBytes(32 * 1024); // shared by every image: deduplicated, always referenced
    const acknowledged = new Map<string, Pushed>(); // repo:tag -> last acknowledged push
    let pushes = 0;
    let refused = 0;
    let junk = 0;
    const until = Date.now() + 8000;
    const worker = async (w: number) => {
      for (let n = 0; Date.now() < until; n++) {
        const repo = `stress/w${w}`;
        const tag = `t${n % 3}`;
        const pushed = await pushImage(wharf.url, repo, tag, base);
        pushes++;
        if (pushed) acknowledged.set(`${repo}:${tag}`, pushed);
        else refused++;
      }
    };
    const junkPusher = async () => {
      while (Date.now() < until) {
        await pushBlob(wharf.url, 'stress/junk', randomBytes(4096)); // never referenced: GC must reclaim it
        junk++;
      }
    };
    await Promise.all([0, 1, 2, 3].map(worker).concat(junkPusher()));

    // Let the grace period pass and a few more GC passes run.
    await new Promise((r) => setTimeout(r, 2500));

    const referenced = new Set<string>();
    for (const [key, pushed] of acknowledged) {
      const [repo, tag] = key.split(':') as [string, string];
      const res = await fetch(`${wharf.url}/v2/${repo}/manifests/${tag}`, { headers: { Accept: OCI_MANIFEST } });
      const body = Buffer.from(await res.arrayBuffer());
      assert.equal(res.status, 200, `${key} must still be there`);
      assert.equal(sha(body), pushed.digest, `${key} points at the last acknowledged push`);
      for (const digest of pushed.blobs) {
        const blob = await fetch(`${wharf.url}/v2/${repo}/blobs/${digest}`);
        const data = Buffer.from(await blob.arrayBuffer());
        assert.equal(blob.status, 200, `${key}: blob ${digest} must pull`);
        assert.equal(sha(data), digest, `${key}: blob ${digest} intact`);
        referenced.add(digest);
      }
    }
    const files = await countBlobFiles(join(wharf.dataDir, 'storage', 'blobs'));
    const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    const counter = (name: string) => Number(/^(\S+) (\S+)$/m.exec(metrics.split('\n').find((l) => l.startsWith(`${name} `)) ?? '')?.[2] ?? NaN);
    const passes = counter('wharf_gc_runs_total');
    const deletedBlobs = counter('wharf_gc_deleted_blobs_total');
    const deletedManifests = counter('wharf_gc_deleted_manifests_total');
    const freed = counter('wharf_gc_freed_bytes_total');
    t.diagnostic(
      `pushes=${pushes} acknowledged-tags=${acknowledged.size} refused=${refused} junk-blobs=${junk} gc-passes=${passes} ` +
        `manifests-deleted=${deletedManifests} blobs-deleted=${deletedBlobs} bytes-freed=${freed} blob-files-left=${files} referenced=${referenced.size}`,
    );
    assert.ok(passes >= 10, 'GC ran many times during the pushes');
    assert.ok(deletedManifests > 0 && deletedBlobs > junk, 'untagged manifests, their blobs and the junk were reclaimed');
    assert.equal(files, referenced.size, 'storage holds exactly the blobs of the surviving tagged images');
    assert.ok(refused <= pushes / 20, `few pushes refused (${refused} of ${pushes})`);
  } finally {
    await wharf.stop();
  }
});
