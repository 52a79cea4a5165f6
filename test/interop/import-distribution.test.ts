// `wharf import distribution` on a storage directory written by the real reference registry (Debian's
// docker-registry, Distribution 2.8) after real pushes with skopeo: every repository, tag and manifest digest must
// match what Distribution served, blobs must pull intact from Wharf, an import killed mid-way must finish on a
// re-run that skips what the first did, and a further run must change nothing.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { cp, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { after, before, describe, test } from 'node:test';
import { wharfCli, type CliOptions, type CliResult } from '../support/cli.js';
import { startDistribution, startWharf, tempDir, type RunningRegistry } from '../support/processes.js';
import { withServerLog } from './support/diag.js';
import { buildImage, loadImage, sha256, verifyDirCopy, verifyLayoutBlobs, writeImageIndex, type BuiltImage, type BuiltIndex } from './support/oci.js';
import { skopeoCopy, skopeoInspectRaw, skopeoListTags } from './support/skopeo.js';

const KiB = 1024;
const MiB = 1024 * KiB;

/** `wharf import ARGS` through the built CLI; killWhen (on stderr) crashes it mid-way. */
const wharfImport = (args: string[], opts: CliOptions = {}) => wharfCli(['import', ...args], opts);

interface Summary {
  counts: Record<string, number>;
  problems: string[];
  repositories: { name: string; status: string }[];
}

function summaryOf(res: CliResult): Summary {
  try {
    return JSON.parse(res.stdout) as Summary;
  } catch {
    assert.fail(`import printed no JSON summary (exit ${res.code}, signal ${res.signal}):\n${res.stdout}\n${res.stderr}`);
  }
}

async function catalog(url: string): Promise<string[]> {
  const res = await fetch(`${url}/v2/_catalog?n=1000`);
  assert.equal(res.status, 200);
  return ((await res.json()) as { repositories: string[] }).repositories.sort();
}

/** What a registry serves: repository -> tag -> sha256 of the manifest bytes served for it. */
type Served = Record<string, Record<string, string>>;

async function served(reg: RunningRegistry, repos: string[]): Promise<Served> {
  const out: Served = {};
  for (const repo of repos) {
    out[repo] = {};
    for (const tag of (await skopeoListTags(`docker://${reg.host}/${repo}`)).Tags.sort()) {
      out[repo]![tag] = sha256(await skopeoInspectRaw(`docker://${reg.host}/${repo}:${tag}`));
    }
  }
  return out;
}

/**
 * Leaves what an import killed while committing a blob leaves: its upload in the journal and its lease on the
 * digest (one not imported yet), here for a day. Returns the digest.
 */
async function leaveCommitLease(dataDir: string, blobs: ReadonlySet<string>): Promise<string> {
  const db = new Database(join(dataDir, 'wharf.db'));
  try {
    const imported = new Set((db.prepare('SELECT digest FROM blobs').all() as { digest: string }[]).map((r) => r.digest));
    const digest = [...blobs].find((b) => !imported.has(b));
    assert.ok(digest, 'the killed run left blobs to import');
    db.prepare('INSERT INTO blob_leases (digest, owner, expires_at) VALUES (?, ?, ?)').run(digest, 'upload-killed-mid-commit', Date.now() + 86_400_000);
    const journal = join(dataDir, 'import-distribution.inflight.json');
    const open = (JSON.parse(await readFile(journal, 'utf8').catch(() => '{}')) as { uploads?: unknown[] }).uploads ?? [];
    await writeFile(journal, JSON.stringify({ uploads: [...open, { id: 'killed-mid-commit', repository: 'big/data', digest }] }));
    return digest;
  } finally {
    db.close();
  }
}

async function blobImported(dataDir: string, digest: string): Promise<boolean> {
  const db = new Database(join(dataDir, 'wharf.db'), { readonly: true });
  try {
    return db.prepare('SELECT 1 FROM blobs WHERE digest = ?').get(digest) !== undefined;
  } finally {
    db.close();
  }
}

describe('wharf import distribution (from Debian docker-registry 2.8 storage)', () => {
  let work = '';
  let layout = '';
  let source = ''; // the copy of Distribution's storage directory
  let dataDir = '';
  let app: BuiltImage;
  let big: BuiltImage;
  let multi: BuiltIndex;
  let expectedCatalog: string[] = [];
  let expected: Served = {};
  let v2s2Digest = '';
  let listDigest = '';
  let wharf: RunningRegistry | undefined;
  const uniqueBlobs = new Set<string>();

  before(async () => {
    work = await tempDir('import-dist');
    layout = join(work, 'layout');
    app = await buildImage(layout, 'app', [
      { files: [{ path: 'etc/app.conf', content: 'wharf import test\n' }] },
      { files: [{ path: 'srv/a.bin', size: 300 * KiB }] },
      { files: [{ path: 'srv/b.bin', size: 2 * MiB }] },
    ]);
    big = await buildImage(layout, 'big', Array.from({ length: 6 }, (_, i) => ({ files: [{ path: `data/part${i}.bin`, size: 3 * MiB }] })));
    const amd = await buildImage(layout, 'amd', [{ files: [{ path: 'arch', content: 'amd64\n' }] }], { architecture: 'amd64', os: 'linux' });
    const arm = await buildImage(layout, 'arm', [{ files: [{ path: 'arch', content: 'arm64\n' }] }], { architecture: 'arm64', os: 'linux' });
    multi = await writeImageIndex(layout, 'multi', [
      { image: amd, platform: { architecture: 'amd64', os: 'linux' } },
      { image: arm, platform: { architecture: 'arm64', os: 'linux', variant: 'v8' } },
    ]);

    const dist = await startDistribution();
    try {
      const to = (ref: string) => `docker://${dist.host}/${ref}`;
      await skopeoCopy(`oci:${layout}:app`, to('team/sub/app:v1'));
      await skopeoCopy(`oci:${layout}:app`, to('team/sub/app:latest'));
      await skopeoCopy(`oci:${layout}:amd`, to('team/sub/app:amd-only'));
      await skopeoCopy(`oci:${layout}:app`, to('docker/app:v1'), ['--format', 'v2s2']);
      await skopeoCopy(`oci:${layout}:multi`, to('multi:latest'), ['--all']);
      await skopeoCopy(`oci:${layout}:multi`, to('multi:list'), ['--all', '--format', 'v2s2']);
      await skopeoCopy(`oci:${layout}:big`, to('big/data:1.0'));
      expectedCatalog = await catalog(dist.url);
      expected = await served(dist, expectedCatalog);
      v2s2Digest = expected['docker/app']!.v1!;
      listDigest = expected.multi!.list!;
      source = join(work, 'registry');
      await cp(dist.dataDir, source, { recursive: true }); // the registry is idle: every push was acknowledged
    } finally {
      await dist.stop(); // removes its own directory
    }

    // An old deployment's leftover: a schema 1 manifest (Distribution 2.8 no longer accepts them) with a tag.
    const v2 = join(source, 'docker', 'registry', 'v2');
    const schema1 = Buffer.from(JSON.stringify({ schemaVersion: 1, name: 'team/sub/app', tag: 'legacy', architecture: 'amd64', fsLayers: [], history: [] }));
    const s1 = createHash('sha256').update(schema1).digest('hex');
    await mkdir(join(v2, 'blobs', 'sha256', s1.slice(0, 2), s1), { recursive: true });
    await writeFile(join(v2, 'blobs', 'sha256', s1.slice(0, 2), s1, 'data'), schema1);
    const repoDir = join(v2, 'repositories', 'team', 'sub', 'app', '_manifests');
    await mkdir(join(repoDir, 'revisions', 'sha256', s1), { recursive: true });
    await writeFile(join(repoDir, 'revisions', 'sha256', s1, 'link'), `sha256:${s1}`);
    await mkdir(join(repoDir, 'tags', 'legacy', 'current'), { recursive: true });
    await writeFile(join(repoDir, 'tags', 'legacy', 'current', 'link'), `sha256:${s1}`);

    for (const img of [app, big, ...multi.children]) for (const d of [img.configDigest, ...img.layerDigests]) uniqueBlobs.add(d);
    dataDir = join(work, 'wharf-data');
  });

  after(async () => {
    await wharf?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  test('the storage directory holds the layout the importer reads (nested names, links, tags)', async () => {
    const v2 = join(source, 'docker', 'registry', 'v2');
    assert.deepEqual(expectedCatalog, ['big/data', 'docker/app', 'multi', 'team/sub/app']);
    for (const p of [
      'repositories/team/sub/app/_manifests/tags/v1/current/link',
      `repositories/team/sub/app/_manifests/revisions/sha256/${app.manifestDigest.slice(7)}/link`,
      `repositories/team/sub/app/_layers/sha256/${app.layerDigests[0]!.slice(7)}/link`,
      `blobs/sha256/${app.layerDigests[0]!.slice(7, 9)}/${app.layerDigests[0]!.slice(7)}/data`,
    ]) {
      assert.ok((await stat(join(v2, p))).isFile(), p);
    }
  });

  test('--dry-run lists everything and writes nothing', async () => {
    const res = await wharfImport(['distribution', source, '--data-dir', dataDir, '--dry-run']);
    assert.equal(res.code, 0, res.stderr + res.stdout);
    for (const repo of expectedCatalog) assert.match(res.stdout, new RegExp(`^${repo}: blobs \\d+ new`, 'm'));
    assert.match(res.stdout, /schema 1: 1 manifests and 1 tags not imported/);
    assert.match(res.stdout, new RegExp(`blobs: would import ${uniqueBlobs.size} `));
    await assert.rejects(stat(dataDir), /ENOENT/, 'a dry run must not create the data dir');
  });

  test('an import killed mid-way completes on a re-run that skips what the first run did', async (t) => {
    const first = await wharfImport(['distribution', source, '--data-dir', dataDir, '--concurrency', '2'], {
      env: { WHARF_IMPORT_PAUSE_AFTER_BLOBS: '4' },
      killWhen: (stderr) => stderr.includes('paused after'),
    });
    assert.equal(first.signal, 'SIGKILL', `the first run should have been killed mid-way:\n${first.stdout}\n${first.stderr}`);
    const state = JSON.parse(await readFile(join(dataDir, 'import-distribution.json'), 'utf8')) as {
      finishedAt: string | null;
      totals: { blobsImported: number };
      completed: Record<string, string>;
    };
    assert.equal(state.finishedAt, null);
    assert.ok(state.totals.blobsImported >= 4, `state records ${state.totals.blobsImported} imported blobs`);
    const doneBefore = Object.keys(state.completed).length;
    assert.ok(doneBefore < expectedCatalog.length, 'the first run must not have finished every repository');

    // A run killed while committing a blob leaves that blob's lease behind, held for its upload. The kill lands
    // anywhere, so make that case certain: one more open upload in the run's journal, whose lease on a blob not
    // imported yet lasts a day. The re-run must release it (the import lock proves its holder dead); waiting it
    // out would outlast the CLI's time limit.
    const leased = await leaveCommitLease(dataDir, uniqueBlobs);
    const t0 = Date.now();
    const second = await wharfImport(['distribution', source, '--data-dir', dataDir, '--json']);
    const secondMs = Date.now() - t0;
    assert.equal(second.code, 0, second.stderr + second.stdout);
    const s = summaryOf(second);
    assert.match(second.stderr, /cleaned up \d+ upload\(s\) an interrupted run left open/);
    const db = new Database(join(dataDir, 'wharf.db'), { readonly: true });
    try {
      assert.deepEqual(db.prepare('SELECT id FROM uploads').all(), [], 'upload sessions of the killed run are cleaned up');
      assert.deepEqual(db.prepare('SELECT digest FROM blob_leases').all(), []);
    } finally {
      db.close();
    }
    assert.ok(await blobImported(dataDir, leased), `the blob the killed run held a lease on (${leased}) is imported`);
    t.diagnostic(`first run: killed after ${state.totals.blobsImported} imported blobs; second run (${secondMs} ms): ${JSON.stringify(s.counts)}`);
    assert.deepEqual(s.problems, []);
    assert.equal(s.counts.repositoriesUnchanged, doneBefore, 'repositories finished by the first run are skipped');
    assert.ok(s.counts.blobsImported >= 1, 'the second run still had blobs to import');
    assert.ok(
      s.counts.blobsImported <= uniqueBlobs.size - state.totals.blobsImported,
      `second run imported ${s.counts.blobsImported} blobs, though the first had already imported ${state.totals.blobsImported} of ${uniqueBlobs.size}`,
    );
    // The first run was killed inside big/data (repositories go in name order): what it imported is found there.
    assert.ok(
      s.counts.blobsPresent >= state.totals.blobsImported,
      `${s.counts.blobsPresent} blobs found present, the first run had imported ${state.totals.blobsImported}`,
    );
    assert.equal(s.counts.blobsImported + s.counts.blobsPresent + s.counts.blobsLinked, [...uniqueBlobs].length + s.counts.blobsLinked);
    assert.equal(s.counts.schema1Manifests, 1);
    assert.equal(s.counts.schema1Tags, 1);
    const after = JSON.parse(await readFile(join(dataDir, 'import-distribution.json'), 'utf8')) as { finishedAt: string | null; totals: { blobsImported: number } };
    assert.notEqual(after.finishedAt, null);
  });

  test('Wharf on the imported data dir serves every repository, tag and digest Distribution served', async () => {
    wharf = await startWharf({ dataDir });
    await withServerLog(wharf, async () => {
      assert.deepEqual(await catalog(wharf!.url), expectedCatalog);
      assert.deepEqual(await served(wharf!, expectedCatalog), expected);
      // Children of both indexes, by digest.
      for (const child of multi.children) {
        assert.equal(sha256(await skopeoInspectRaw(`docker://${wharf!.host}/multi@${child.manifestDigest}`)), child.manifestDigest);
      }
      const list = JSON.parse((await skopeoInspectRaw(`docker://${wharf!.host}/multi@${listDigest}`)).toString()) as { manifests: { digest: string }[] };
      for (const child of list.manifests) assert.equal(sha256(await skopeoInspectRaw(`docker://${wharf!.host}/multi@${child.digest}`)), child.digest);
    });
  });

  test('blobs pull intact: OCI image, Docker v2s2 image and a multi-arch index', () =>
    withServerLog(wharf, async () => {
      const host = wharf!.host;
      const out = join(work, 'pulled-app');
      await skopeoCopy(`docker://${host}/team/sub/app:v1`, `oci:${out}:app`);
      const blobs = await verifyLayoutBlobs(out);
      const pulled = await loadImage(out, 'app');
      assert.equal(pulled.descriptor.digest, app.manifestDigest);
      for (const d of [app.configDigest, ...app.layerDigests]) assert.ok(blobs.has(d), `${d} missing from the pulled layout`);

      const bigOut = join(work, 'pulled-big');
      await skopeoCopy(`docker://${host}/big/data:1.0`, `oci:${bigOut}:big`);
      const bigBlobs = await verifyLayoutBlobs(bigOut);
      for (const d of big.layerDigests) assert.ok(bigBlobs.has(d));

      const dirOut = join(work, 'pulled-v2s2');
      await skopeoCopy(`docker://${host}/docker/app:v1`, `dir:${dirOut}`);
      const copy = await verifyDirCopy(dirOut);
      assert.equal(sha256(copy.manifestBytes), v2s2Digest);
      for (const d of app.layerDigests) assert.ok(copy.blobs.has(d));

      const multiOut = join(work, 'pulled-multi');
      await skopeoCopy(`docker://${host}/multi:latest`, `oci:${multiOut}:multi`, ['--all']);
      const multiBlobs = await verifyLayoutBlobs(multiOut);
      assert.ok(multiBlobs.has(multi.digest));
      for (const child of multi.children) for (const d of [child.manifestDigest, ...child.layerDigests]) assert.ok(multiBlobs.has(d));
    }));

  test('running the import again (while Wharf serves) is a no-op; --full re-checks and finds everything present', async () => {
    const again = await wharfImport(['distribution', source, '--data-dir', dataDir, '--json']);
    assert.equal(again.code, 0, again.stderr);
    const a = summaryOf(again);
    assert.equal(a.counts.repositoriesUnchanged, expectedCatalog.length);
    for (const key of ['blobsImported', 'blobsLinked', 'manifestsImported', 'tagsSet']) assert.equal(a.counts[key], 0, key);

    const full = await wharfImport(['distribution', source, '--data-dir', dataDir, '--json', '--full']);
    assert.equal(full.code, 0, full.stderr);
    const f = summaryOf(full);
    assert.equal(f.counts.repositoriesUnchanged, 0);
    for (const key of ['blobsImported', 'blobsLinked', 'manifestsImported', 'tagsSet']) assert.equal(f.counts[key], 0, key);
    assert.ok(f.counts.blobsPresent >= uniqueBlobs.size);
    assert.equal(f.counts.tagsPresent, Object.values(expected).reduce((n, tags) => n + Object.keys(tags).length, 0));
    assert.deepEqual(await served(wharf!, expectedCatalog), expected);
  });
});
