// Growth: does a page of _catalog or tags/list cost the page or the registry, and how long does GC take over many
// unreferenced blobs? Wharf only (Distribution's catalog walks its whole storage tree; there is no store to seed).
// Metadata is seeded straight through the store API, which takes seconds where pushing would take hours; then a
// fresh Wharf serves that data directory and only the HTTP pages (or the GC pass) are timed.
import { createHash } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pino } from 'pino';
import { GarbageCollector } from '../src/gc/collector.js';
import { SqliteMetadataStore } from '../src/metadata/sqlite.js';
import { parseDigest } from '../src/oci/digest.js';
import { FilesystemDriver } from '../src/storage/filesystem.js';
import { blobKey } from '../src/storage/paths.js';
import { startWharf, tempDir } from '../test/support/processes.js';
import { OCI_MANIFEST } from './oci.js';
import type { Row } from './report.js';
import { makeRow } from './report.js';
import { median } from './stats.js';

export interface GrowthSizes {
  /** Repositories in the catalog, and tags in one repository, at each level. */
  readonly levels: readonly number[]; // each ≥ 2 pages, so every timed page is a full one
  readonly gcBlobs: number;
}

export const fullGrowth: GrowthSizes = { levels: [1000, 10_000, 100_000], gcBlobs: 100_000 };
export const quickGrowth: GrowthSizes = { levels: [200, 1000], gcBlobs: 1000 };

const PAGE = 100;
/** Timed fetches per page position; the median is reported. */
const REPEATS = 15;

const digestOf = (data: Buffer | string): string => `sha256:${createHash('sha256').update(data).digest('hex')}`;
const pad = (i: number): string => String(i).padStart(6, '0');
const label = (n: number): string => (n >= 1000 ? `${n / 1000}k` : String(n));

function openStore(dataDir: string): SqliteMetadataStore {
  return new SqliteMetadataStore({ path: join(dataDir, 'wharf.db'), synchronous: 'normal' });
}

/** n repositories (each holding one shared blob) and one repository with n tags on one manifest. */
async function seedListing(dataDir: string, n: number): Promise<void> {
  const store = openStore(dataDir);
  try {
    const blob = { digest: digestOf('growth'), size: 6 };
    for (let i = 0; i < n; i++) await store.commitBlob(`growth/r${pad(i)}`, blob);
    const body = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: {}, layers: [] }));
    const tags = Array.from({ length: n }, (_, i) => `t${pad(i)}`);
    const result = await store.putManifest({ repository: 'growth/tagged', digest: digestOf(body), mediaType: OCI_MANIFEST, body, artifactType: null, subject: null, annotations: null, blobs: [], manifests: [], tags });
    if (!result.ok) throw new Error(`seeding tags failed: ${JSON.stringify(result)}`);
  } finally {
    await store.close();
  }
}

/** Median ms of GET path, checking it answers 200 with `expect` entries under `field`. */
async function timePage(url: string, field: 'repositories' | 'tags', expect: number): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < REPEATS; i++) {
    const t0 = performance.now();
    const res = await fetch(url);
    const body = (await res.json()) as Record<string, string[]>;
    times.push(performance.now() - t0);
    if (res.status !== 200 || body[field]?.length !== expect) throw new Error(`GET ${url}: status ${res.status}, ${body[field]?.length} ${field}, expected ${expect}`);
  }
  return median(times);
}

/** ms per page of 100 at the start, middle and end of the listing, averaged over the three positions. */
async function pageCost(base: string, path: string, field: 'repositories' | 'tags', names: (i: number) => string, n: number): Promise<number> {
  const positions = [undefined, Math.min(Math.floor(n / 2), n - PAGE - 1), n - PAGE - 1];
  const costs = [];
  for (const p of positions) {
    const last = p === undefined ? '' : `&last=${encodeURIComponent(names(p))}`;
    costs.push(await timePage(`${base}${path}?n=${PAGE}${last}`, field, PAGE));
  }
  return costs.reduce((a, b) => a + b, 0) / costs.length;
}

async function listingRows(n: number, log: (line: string) => void): Promise<Row[]> {
  const dataDir = await tempDir('growth');
  try {
    const t0 = performance.now();
    await seedListing(dataDir, n);
    log(`  growth: seeded ${n} repositories and ${n} tags in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    const wharf = await startWharf({ dataDir, env: { WHARF_LOG__LEVEL: 'warn' } });
    try {
      const catalog = await pageCost(wharf.url, '/v2/_catalog', 'repositories', (i) => `growth/r${pad(i)}`, n);
      const tags = await pageCost(wharf.url, '/v2/growth/tagged/tags/list', 'tags', (i) => `t${pad(i)}`, n);
      log(`  growth ${label(n)}: _catalog ${catalog.toFixed(2)} ms/page, tags/list ${tags.toFixed(2)} ms/page`);
      return [
        makeRow('growth', { metric: `_catalog page of ${PAGE}, ${label(n)} repos`, unit: 'ms', better: 'lower' }, [catalog, undefined]),
        makeRow('growth', { metric: `tags/list page of ${PAGE}, ${label(n)} tags`, unit: 'ms', better: 'lower' }, [tags, undefined]),
      ];
    } finally {
      await wharf.stop();
    }
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
}

/** n blobs pushed to a repository and then unlinked from it (metadata and files), then one timed GC pass. */
async function gcRows(n: number, log: (line: string) => void): Promise<Row[]> {
  const dataDir = await tempDir('growth-gc');
  const store = openStore(dataDir);
  try {
    const root = join(dataDir, 'storage');
    const made = new Set<string>();
    for (let i = 0; i < n; i++) {
      const data = `gc blob ${i}`;
      const digest = digestOf(data);
      const file = join(root, blobKey(parseDigest(digest)!));
      const dir = join(file, '..');
      if (!made.has(dir)) await mkdir(dir, { recursive: true });
      made.add(dir);
      await writeFile(file, data);
      await store.commitBlob('growth/gc', { digest, size: data.length });
      await store.unlinkBlob('growth/gc', digest);
    }
    const gc = new GarbageCollector(store, new FilesystemDriver(root), pino({ level: 'silent' }));
    const t0 = performance.now();
    const summary = await gc.run({ deleteUntagged: false, dryRun: false, gracePeriod: 0, trigger: 'cli' });
    const s = (performance.now() - t0) / 1000;
    if (summary.blobsDeleted !== n) throw new Error(`GC deleted ${summary.blobsDeleted} of ${n} unreferenced blobs`);
    log(`  growth: GC of ${n} unreferenced blobs in ${s.toFixed(2)} s`);
    return [makeRow('growth', { metric: `GC of ${label(n)} unreferenced blobs`, unit: 's', better: 'lower' }, [s, undefined])];
  } finally {
    await store.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}

export async function growthRows(sizes: GrowthSizes, log: (line: string) => void): Promise<Row[]> {
  log('== growth: _catalog and tags/list page cost, GC over many unreferenced blobs (Wharf only)');
  const rows: Row[] = [];
  for (const n of sizes.levels) rows.push(...(await listingRows(n, log)));
  rows.push(...(await gcRows(sizes.gcBlobs, log)));
  return rows;
}
