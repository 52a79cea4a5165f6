// "Delete, then run GC to free disk", as an operator does it against a running `wharf serve`: `wharf repo delete`
// and a manifest DELETE over HTTP, then `wharf gc`. A scheduled-style pass (default grace) first must not hide the
// garbage from `--grace 0s`; dry runs give the numbers the real pass then frees; the CLI deletion reaches the
// same webhook as an API deletion.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { Client } from '../api/support/http.js';
import { pushImage, type PushedImage } from '../api/support/registry.js';
import { runWharf, startWharf, tempDir } from '../support/processes.js';

const port = () => 25600 + Math.floor(Math.random() * 300);

interface Hook {
  action: string;
  target: { repository: string };
  request: { method: string; useragent: string };
  actor: { name?: string };
}

function summaryOf(stdout: string): { manifests: number; blobs: number; reviewed: number; young: number } {
  const m = /(?:deleted|would delete) (\d+) manifests and (\d+) blobs.*\((\d+) reviewed, (\d+) too young/.exec(stdout);
  assert.ok(m, `a gc summary: ${stdout}`);
  return { manifests: Number(m[1]), blobs: Number(m[2]), reviewed: Number(m[3]), young: Number(m[4]) };
}

interface World {
  readonly url: string;
  /** The server's metrics listener. */
  readonly metricsUrl: string;
  readonly received: Hook[];
  cli(...args: string[]): Promise<string>;
  onDisk(digest: string): Promise<boolean>;
  close(): Promise<void>;
}

/** A `wharf serve` process with a webhook receiver, and the `wharf` CLI on the same config and data directory. */
async function world(): Promise<World> {
  const received: Hook[] = [];
  const hookPort = port();
  const receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      received.push(...(JSON.parse(body) as { events: Hook[] }).events);
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(hookPort, '127.0.0.1', resolve));
  const dir = await tempDir('gc-cli');
  const configFile = join(dir, 'wharf.yaml');
  await writeFile(
    configFile,
    ['gc: {enabled: false}', 'webhooks:', '  pollInterval: 100ms', '  endpoints:', `    - {name: main, url: "http://127.0.0.1:${hookPort}/hook", actions: [delete]}`].join('\n'),
  );
  const metricsPort = port() + 50;
  const wharf = await startWharf({ port: port(), args: ['--config', configFile], env: { WHARF_METRICS__ADDR: `127.0.0.1:${metricsPort}` } });
  return {
    url: wharf.url,
    metricsUrl: `http://127.0.0.1:${metricsPort}/metrics`,
    received,
    async cli(...args: string[]) {
      const run = await runWharf([...args, '--config', configFile, '--data-dir', wharf.dataDir]);
      assert.equal(run.code, 0, `wharf ${args.join(' ')}: ${run.stderr}${run.stdout}`);
      return run.stdout;
    },
    onDisk: (digest: string) =>
      stat(join(wharf.dataDir, 'storage', 'blobs', 'sha256', digest.slice(7, 9), digest.slice(7))).then(
        () => true,
        () => false,
      ),
    async close() {
      await wharf.stop();
      receiver.closeAllConnections();
      await new Promise<void>((resolve) => receiver.close(() => resolve()));
      await rm(dir, { recursive: true, force: true });
    },
  };
}

const blobsOf = (image: PushedImage) => [image.config.digest, ...image.layers.map((l) => l.digest)];
const bytesOf = (image: PushedImage) => image.config.size + image.layers.reduce((sum, l) => sum + l.size, 0);

async function metric(url: string, name: string): Promise<number> {
  const text = await (await fetch(url)).text();
  const m = new RegExp(`^${name} (\\d+)$`, 'm').exec(text);
  assert.ok(m, `${name} in ${text.slice(0, 200)}`);
  return Number(m[1]);
}

test('wharf repo delete reaches the webhooks like an API deletion, delivered by the running server', async () => {
  const w = await world();
  try {
    const c = new Client(w.url);
    await pushImage(c, 'team/gone', { tag: 'v1' });
    const untagged = await pushImage(c, 'team/untagged', { tag: 'v1' });
    assert.match(await w.cli('repo', 'delete', 'team/gone'), /deleted repository team\/gone/);
    assert.equal((await fetch(`${w.url}/v2/team/untagged/manifests/${untagged.digest}`, { method: 'DELETE' })).status, 202);
    for (let i = 0; i < 100 && w.received.length < 2; i++) await new Promise((r) => setTimeout(r, 50));
    const byCli = w.received.find((e) => e.target.repository === 'team/gone');
    assert.ok(byCli, `a delete event for team/gone: ${JSON.stringify(w.received)}`);
    assert.equal(byCli.action, 'delete');
    assert.equal(byCli.request.method, 'DELETE');
    assert.match(byCli.request.useragent, /^wharf repo delete/);
    assert.ok(w.received.some((e) => e.target.repository === 'team/untagged'), 'and the HTTP deletion too');
  } finally {
    await w.close();
  }
});

test('wharf repo delete and a manifest DELETE, then wharf gc --grace 0s frees the bytes now, even after a normal pass; dry runs tell the truth', async () => {
  const w = await world();
  try {
    const c = new Client(w.url);
    const gone = await pushImage(c, 'team/gone', { tag: 'v1', layers: 2 });
    const untagged = await pushImage(c, 'team/untagged', { tag: 'v1', layers: 1 });
    const kept = await pushImage(c, 'team/kept', { tag: 'v1', layers: 1 });
    const garbage = [...blobsOf(gone), ...blobsOf(untagged)];
    for (const d of garbage) assert.ok(await w.onDisk(d), `${d} stored`);
    await w.cli('repo', 'delete', 'team/gone');
    assert.equal((await fetch(`${w.url}/v2/team/untagged/manifests/${untagged.digest}`, { method: 'DELETE' })).status, 202);

    // A dry run tells the truth: with the default grace everything is too young; with none, all of it would go.
    const dryYoung = summaryOf(await w.cli('gc', '--dry-run'));
    assert.equal(dryYoung.blobs, 0);
    assert.equal(dryYoung.young, garbage.length, `dry run counts what is too young: ${JSON.stringify(dryYoung)}`);
    const dryNow = summaryOf(await w.cli('gc', '--dry-run', '--grace', '0s'));
    assert.equal(dryNow.blobs, garbage.length, `dry run counts what --grace 0s would free: ${JSON.stringify(dryNow)}`);

    // A normal pass (1h grace) defers the young garbage; --grace 0s right after must still see and free it.
    const normal = summaryOf(await w.cli('gc'));
    assert.equal(normal.blobs, 0);
    assert.equal(normal.young, garbage.length);
    const now = summaryOf(await w.cli('gc', '--grace', '0s'));
    assert.equal(now.blobs, garbage.length, `freed now: ${JSON.stringify(now)}`);
    assert.ok(now.reviewed >= garbage.length);
    for (const d of garbage) assert.equal(await w.onDisk(d), false, `${d} removed from disk`);
    for (const d of blobsOf(kept)) assert.ok(await w.onDisk(d), `${d} of a tagged image stays`);
    assert.equal((await fetch(`${w.url}/v2/team/kept/manifests/v1`, { headers: { Accept: 'application/vnd.oci.image.manifest.v1+json' } })).status, 200);
    assert.equal(summaryOf(await w.cli('gc', '--grace', '0s')).blobs, 0, 'nothing left to free');
    // The CLI's passes show in the running server's metrics, as a scheduled pass would.
    assert.equal(await metric(w.metricsUrl, 'wharf_gc_runs_total'), 3, 'three real passes, dry runs not counted');
    assert.equal(await metric(w.metricsUrl, 'wharf_gc_deleted_blobs_total'), garbage.length);
    assert.equal(await metric(w.metricsUrl, 'wharf_gc_freed_bytes_total'), bytesOf(gone) + bytesOf(untagged));
  } finally {
    await w.close();
  }
});
