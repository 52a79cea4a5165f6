// The backup directory:
//
//   DEST/blobs/<alg>/<xx>/<hex>                  blob bytes, content-addressed, shared by every snapshot (incremental)
//   DEST/snapshots/<name>/metadata.jsonl.gz      the metadata store's logical export at the snapshot's instant
//   DEST/snapshots/<name>/manifest.json          what the snapshot holds and needs (see SnapshotManifest)
//   DEST/latest                                  the name of the newest complete snapshot
//   DEST/snapshots/.partial-<name>/              a snapshot being written; never read, removed by the next run
//   DEST/.lock                                   held by the backup writing to DEST
//
// A snapshot directory only appears (by rename) once its metadata and every blob it lists are in DEST, so a
// snapshot that exists can be restored. Snapshots of format 1 (written before the logical export) hold
// metadata.db, a copy of the SQLite database, instead of the export; restore still reads them.
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { parseDigest } from '../oci/digest.js';
import { blobKey } from '../storage/paths.js';

export const snapshotFormat = 2;
export const metadataFile = 'metadata.jsonl.gz';
export const manifestFile = 'manifest.json';
export const snapshotsDir = 'snapshots';
export const latestFile = 'latest';
export const lockFile = '.lock';
export const partialPrefix = '.partial-';

export interface SnapshotBlob {
  readonly digest: string;
  readonly size: number;
}

/** Format 2: the metadata is the store's logical export, gzipped JSON lines. */
export interface ExportMetadata {
  readonly file: string;
  /** 'wharf-metadata', and the export's version (its header says the same). */
  readonly format: string;
  readonly version: number;
  /** The store that wrote it ('sqlite', ...); any store can read it. */
  readonly source: string;
  readonly size: number;
  readonly sha256: string;
}

/** Format 1: a copy of the SQLite database file. */
export interface LegacyMetadata {
  readonly file: string;
  readonly driver: 'sqlite';
  readonly size: number;
  readonly sha256: string;
  /** The SQLite schema version (PRAGMA user_version) of the copy. */
  readonly schemaVersion: number;
}

export interface SnapshotManifest {
  readonly format: number;
  readonly name: string;
  readonly wharfVersion: string;
  /** ISO 8601, UTC: when the metadata was snapshotted. */
  readonly createdAt: string;
  readonly metadata: ExportMetadata | LegacyMetadata;
  readonly counts: {
    readonly repositories: number;
    readonly manifests: number;
    readonly tags: number;
    readonly blobs: number;
    readonly blobBytes: number;
  };
  /** Every blob the snapshot's metadata knows; all are in DEST/blobs when the snapshot exists. */
  readonly blobs: readonly SnapshotBlob[];
}

export function isLegacyMetadata(m: SnapshotManifest['metadata']): m is LegacyMetadata {
  return 'driver' in m;
}

export class BackupError extends Error {
  constructor(
    message: string,
    readonly problems: readonly string[] = [],
  ) {
    super(problems.length ? `${message}\n${problems.map((p) => `  - ${p}`).join('\n')}` : message);
    this.name = 'BackupError';
  }
}

/** DEST-relative path of a blob: the same layout as the filesystem driver's keys. */
export function backupBlobPath(dest: string, digest: string): string {
  const parsed = parseDigest(digest);
  if (!parsed) throw new BackupError(`not a digest: ${digest}`);
  return join(dest, blobKey(parsed));
}

/** Snapshot names sort in time order: 20250102T030405Z (UTC, to the second), with -N appended on a clash. */
export function snapshotName(at: Date): string {
  return at.toISOString().replace(/\.\d{3}Z$/, 'Z').replace(/[-:]/g, '');
}

const namePattern = /^\d{8}T\d{6}Z(-\d+)?$/;

export function isSnapshotName(name: string): boolean {
  return namePattern.test(name);
}

/** Complete snapshots in DEST, oldest first. */
export async function listSnapshots(dest: string): Promise<string[]> {
  let entries: string[];
  try {
    entries = await readdir(join(dest, snapshotsDir));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  return entries.filter(isSnapshotName).sort(compareSnapshotNames);
}

/** Time order, with 20250102T030405Z-10 after -9. */
export function compareSnapshotNames(a: string, b: string): number {
  const [ta = '', na = '0'] = a.split('-');
  const [tb = '', nb = '0'] = b.split('-');
  return ta < tb ? -1 : ta > tb ? 1 : Number(na) - Number(nb);
}

export async function readSnapshotManifest(dir: string): Promise<SnapshotManifest> {
  const file = join(dir, manifestFile);
  let doc: unknown;
  try {
    doc = JSON.parse(await readFile(file, 'utf8'));
  } catch (err) {
    throw new BackupError(`cannot read ${file}: ${(err as Error).message}`);
  }
  const m = doc as Partial<SnapshotManifest>;
  if (typeof m !== 'object' || m === null || typeof m.format !== 'number' || !Array.isArray(m.blobs) || typeof m.metadata !== 'object') {
    throw new BackupError(`${file} is not a Wharf snapshot manifest`);
  }
  if (m.format > snapshotFormat) {
    throw new BackupError(`${file} has format ${m.format}; this Wharf reads formats 1 to ${snapshotFormat} (use a newer Wharf)`);
  }
  const meta = m.metadata as Partial<ExportMetadata & LegacyMetadata> | null;
  const described = meta !== null && typeof meta.file === 'string' && typeof meta.sha256 === 'string' && typeof meta.size === 'number';
  const legacy = m.format === 1 && meta?.driver === 'sqlite';
  if (!described || !(legacy || (m.format >= 2 && typeof meta.format === 'string'))) {
    throw new BackupError(`${file} does not describe its metadata file (format ${m.format}): ${JSON.stringify(m.metadata)}`);
  }
  if (meta.file.includes('/') || meta.file.startsWith('.')) throw new BackupError(`${file} names a metadata file outside the snapshot: ${meta.file}`);
  for (const b of m.blobs) {
    if (typeof b?.digest !== 'string' || !parseDigest(b.digest) || typeof b.size !== 'number') {
      throw new BackupError(`${file} lists an invalid blob: ${JSON.stringify(b)}`);
    }
  }
  return m as SnapshotManifest;
}

/** The snapshot DEST/latest names, or null when there is none. */
export async function readLatest(dest: string): Promise<string | null> {
  try {
    const name = (await readFile(join(dest, latestFile), 'utf8')).trim();
    return isSnapshotName(name) ? name : null;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}
