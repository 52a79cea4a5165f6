// Online GC under load: pushers keep pushing and re-tagging while scheduled GC passes run every 200 ms.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { startWharf } from '../support/processes.js';
import { OCI_MANIFEST, pushBlob, pushImage, sha256 as sha, type PushedImage as Pushed } from '../support/push.js';

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
        const pushed = await pushImage(wharf.url, repo, tag, base, { minLayer: 1024, extraLayer: 64 * 1024, skipExisting: true });
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
    // GC reclaims what is left once the grace period has passed: wait for that to happen, not for a set time.
    const blobRoot = join(wharf.dataDir, 'storage', 'blobs');
    const deadline = Date.now() + 60_000;
    let files = await countBlobFiles(blobRoot);
    while (files !== referenced.size && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      files = await countBlobFiles(blobRoot);
    }
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
