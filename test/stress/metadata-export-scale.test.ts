// The logical export at scale: 100k manifests imported (from a generated export, much faster than pushing them)
// into a SQLite store on disk, then exported through the backup's gzip writer and imported again. Memory must not
// grow with the store: the work runs in a child process whose V8 heap is capped far below what holding the export
// would take (~180 MB of JSON for this content), so an export or import that accumulates dies of it. Times, peak
// heap and event-loop delay are reported as diagnostics.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { metadataLines, writeMetadataFile } from '../../src/backup/metadata-file.js';
import { exportFormat, exportVersion, type ExportRecord } from '../../src/metadata/export-format.js';
import { openMetadataStore } from '../../src/metadata/open.js';
import type { MetadataStore } from '../../src/metadata/store.js';
import { tempDir } from '../support/processes.js';

const MANIFESTS = 100_000;
const REPOSITORIES = 100;
/** The child's old-space cap, in MiB. */
const HEAP_LIMIT_MIB = 64;
const CHILD = 'WHARF_EXPORT_SCALE_CHILD';

const digest = (s: string): string => `sha256:${createHash('sha256').update(s).digest('hex')}`;
const repo = (i: number): string => `scale/repo${String(i % REPOSITORIES).padStart(3, '0')}`;
const layers = [digest('layer-a'), digest('layer-b')];

/** An export of MANIFESTS images (own config, two shared layers, every other one tagged), generated line by line. */
function* generatedExport(): Generator<string> {
  const line = (r: ExportRecord) => JSON.stringify(r);
  yield JSON.stringify({ format: exportFormat, version: exportVersion, createdAt: new Date().toISOString(), source: 'generated' });
  for (let r = 0; r < REPOSITORIES; r++) yield line({ type: 'repository', name: repo(r), createdAt: 1 });
  for (const l of layers) yield line({ type: 'blob', digest: l, size: 50_000_000, createdAt: 1 });
  for (let i = 0; i < MANIFESTS; i++) yield line({ type: 'blob', digest: digest(`config-${i}`), size: 1500, createdAt: 2 });
  for (let r = 0; r < REPOSITORIES; r++) for (const l of layers) yield line({ type: 'link', repository: repo(r), digest: l, createdAt: 1 });
  for (let i = 0; i < MANIFESTS; i++) yield line({ type: 'link', repository: repo(i), digest: digest(`config-${i}`), createdAt: 2 });
  for (let i = 0; i < MANIFESTS; i++) {
    const config = digest(`config-${i}`);
    const body = JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: config, size: 1500 },
      layers: layers.map((l) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: l, size: 50_000_000 })),
    });
    yield line({
      type: 'manifest',
      repository: repo(i),
      digest: digest(body),
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      artifactType: null,
      subject: null,
      annotations: null,
      body: Buffer.from(body).toString('base64'),
      createdAt: 3,
      lastPulledAt: null,
      blobs: [config, ...layers],
      manifests: [],
    });
  }
  for (let i = 1; i < MANIFESTS; i += 2) {
    const body = JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: digest(`config-${i}`), size: 1500 },
      layers: layers.map((l) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: l, size: 50_000_000 })),
    });
    yield line({ type: 'tag', repository: repo(i), name: `t${i}`, digest: digest(body), updatedAt: 4, lastPulledAt: null });
  }
  const counts = { repository: REPOSITORIES, blob: MANIFESTS + 2, link: MANIFESTS + 2 * REPOSITORIES, manifest: MANIFESTS, tag: MANIFESTS / 2 };
  yield JSON.stringify({ type: 'end', counts: { ...counts, upload: 0, event: 0, 'pending-deletion': 0 } });
}

/** Runs fn, sampling the heap and the event-loop delay meanwhile. */
async function measured<T>(fn: () => Promise<T>): Promise<{ result: T; ms: number; heapMax: number; loopP99: number; loopMax: number }> {
  const loop = monitorEventLoopDelay({ resolution: 10 });
  let heapMax = 0;
  const sample = () => (heapMax = Math.max(heapMax, process.memoryUsage().heapUsed));
  const timer = setInterval(sample, 100);
  loop.enable();
  const started = performance.now();
  try {
    const result = await fn();
    sample();
    return { result, ms: Math.round(performance.now() - started), heapMax, loopP99: loop.percentile(99) / 1e6, loopMax: loop.max / 1e6 };
  } finally {
    clearInterval(timer);
    loop.disable();
  }
}

const mib = (n: number) => `${(n / 2 ** 20).toFixed(0)} MiB`;

/** The child's work: seed, export, import; each step's figures as one JSON line on stdout. */
async function child(work: string): Promise<void> {
  const stores: MetadataStore[] = [];
  const open = (name: string) => {
    const s = openMetadataStore({ metadata: { driver: 'sqlite', sqlite: { path: join(work, name, 'wharf.db'), synchronous: 'normal' }, postgres: { poolSize: 1 } } });
    stores.push(s);
    return s;
  };
  const report = (step: string, m: { ms: number; heapMax: number; loopP99: number; loopMax: number }) =>
    process.stdout.write(`${JSON.stringify({ step, ms: m.ms, heapMax: m.heapMax, loopP99: m.loopP99, loopMax: m.loopMax })}\n`);
  try {
    const source = open('source');
    report('import of the generated export', await measured(() => source.importSnapshot(generatedExport())));
    assert.equal((await source.stats()).manifests, MANIFESTS);

    const file = join(work, 'metadata.jsonl.gz');
    const exported = await measured(() => writeMetadataFile(file, (sink) => source.exportSnapshot(sink)));
    report('export to gzip (the backup writer)', exported);
    assert.equal(exported.result.manifests, MANIFESTS);
    assert.equal(exported.result.tags, MANIFESTS / 2);

    const copy = open('copy');
    report('import from gzip', await measured(() => copy.importSnapshot(metadataLines(file))));
    assert.deepEqual(await copy.stats(), await source.stats());
    assert.deepEqual(await copy.listRepositoryUsage({ limit: 1000 }), await source.listRepositoryUsage({ limit: 1000 }));
  } finally {
    for (const s of stores) await s.close();
  }
}

if (process.env[CHILD]) {
  await child(process.env[CHILD]);
} else {
  test(`export and import of ${MANIFESTS / 1000}k manifests run in a ${HEAP_LIMIT_MIB} MiB heap`, async (t) => {
    const work = await tempDir('export-scale');
    t.after(() => rm(work, { recursive: true, force: true }));
    const proc = spawn(process.execPath, [`--max-old-space-size=${HEAP_LIMIT_MIB}`, fileURLToPath(import.meta.url)], {
      env: { ...process.env, [CHILD]: work },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    proc.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    proc.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const code = await new Promise<number | null>((resolve) => proc.on('close', resolve));
    for (const line of stdout.trim().split('\n').filter(Boolean)) {
      const m = JSON.parse(line) as { step: string; ms: number; heapMax: number; loopP99: number; loopMax: number };
      t.diagnostic(`${m.step}: ${m.ms} ms, heap max ${mib(m.heapMax)}, event-loop delay p99 ${m.loopP99.toFixed(0)} ms, max ${m.loopMax.toFixed(0)} ms`);
    }
    assert.equal(code, 0, `the child failed (heap capped at ${HEAP_LIMIT_MIB} MiB):\n${stderr.slice(-3000)}`);
    assert.equal(stdout.trim().split('\n').length, 3, stdout);
  });
}
