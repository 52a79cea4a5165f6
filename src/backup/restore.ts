// `wharf restore SRC`: one snapshot of a backup directory into an empty data directory.
//
// The snapshot's metadata is read and checked first; then the blobs go in, through the storage driver's upload
// path (staged, digest checked, committed); the metadata is imported into the configured store last, in one
// transaction: until then the store holds no registry, and an interrupted restore resumes (a marker file in the
// data dir names the snapshot being restored) instead of leaving a registry that lists images whose bytes are
// missing.
import { randomUUID } from 'node:crypto';
import { mkdir, open, readdir, readFile, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Config } from '../config/schema.js';
import { StoreNotEmptyError } from '../metadata/export-format.js';
import type { MetadataStore } from '../metadata/store.js';
import { describeMetadataStore, isVolatileMetadataStore, metadataStoreExists, openMetadataStore } from '../metadata/open.js';
import { parseDigest } from '../oci/digest.js';
import { DigestHasher } from '../oci/digest-stream.js';
import { createDriver } from '../registry/registry.js';
import type { BlobDriver } from '../storage/driver.js';
import { blobKey } from '../storage/paths.js';
import { forEachLimit } from './pool.js';
import { checkDigest, DigestMismatchError, fsyncDir, isMissing, pathExists, writeFileAtomic } from './files.js';
import {
  BackupError,
  backupBlobPath,
  isSnapshotName,
  listSnapshots,
  readLatest,
  readSnapshotManifest,
  snapshotsDir,
  type SnapshotBlob,
  type SnapshotManifest,
} from './layout.js';
import { openSnapshotMetadata } from './restore-metadata.js';

export const restoreMarker = '.wharf-restore.json';

export interface RestoreProgress {
  readonly blobsDone: number;
  readonly blobsTotal: number;
  readonly bytesDone: number;
  readonly bytesTotal: number;
}

export interface RestoreOptions {
  readonly source: string;
  /** A snapshot name; default the one DEST/latest names. */
  readonly snapshot?: string;
  /** Where to restore: storage.dataDir, the blob storage and the metadata database it configures. */
  readonly config: Config;
  readonly concurrency?: number;
  readonly onProgress?: (progress: RestoreProgress) => void;
  readonly onNotice?: (message: string) => void;
}

export interface RestoreSummary {
  readonly snapshot: string;
  readonly createdAt: string;
  readonly dataDir: string;
  readonly repositories: number;
  readonly manifests: number;
  readonly tags: number;
  readonly blobs: number;
  readonly blobBytes: number;
  readonly restored: number;
  readonly restoredBytes: number;
  /** Blobs already restored by an interrupted earlier run. */
  readonly resumed: number;
  readonly durationMs: number;
}

interface Marker {
  readonly source: string;
  readonly snapshot: string;
  readonly startedAt: string;
}

async function entriesOf(dir: string): Promise<string[] | null> {
  try {
    return await readdir(dir);
  } catch (err) {
    if (isMissing(err)) return null;
    if ((err as NodeJS.ErrnoException).code === 'ENOTDIR') return [dir];
    throw err;
  }
}

async function readMarker(dataDir: string): Promise<Marker | null> {
  try {
    return JSON.parse(await readFile(join(dataDir, restoreMarker), 'utf8')) as Marker;
  } catch (err) {
    if (isMissing(err)) return null;
    throw new BackupError(`${join(dataDir, restoreMarker)} is unreadable (${(err as Error).message}); remove the data directory and restore again`);
  }
}

/** Refuses a target that holds anything but an interrupted restore of this very snapshot. */
async function checkTarget(config: Config, source: string, snapshot: string): Promise<'fresh' | 'resume'> {
  const dataDir = config.storage.dataDir;
  const marker = await readMarker(dataDir);
  if (marker) {
    if (marker.source === source && marker.snapshot === snapshot) return 'resume';
    throw new BackupError(
      `${dataDir} holds an unfinished restore of snapshot ${marker.snapshot} from ${marker.source}; ` +
        'finish that one (same SRC and --snapshot) or remove the directory',
    );
  }
  const found: string[] = [];
  const dataEntries = await entriesOf(dataDir);
  if (dataEntries && dataEntries.length > 0) found.push(`${dataDir} contains ${dataEntries.slice(0, 5).join(', ')}${dataEntries.length > 5 ? ', …' : ''}`);
  const storageRoot = config.storage.filesystem.root!;
  const storageEntries = await entriesOf(storageRoot);
  if (storageEntries && storageEntries.length > 0 && !storageRoot.startsWith(`${dataDir}/`)) found.push(`${storageRoot} is not empty`);
  if (await metadataStoreExists(config)) found.push(`the metadata store ${describeMetadataStore(config)} exists`);
  if (found.length > 0) {
    throw new BackupError('refusing to restore: the target is not empty (restore never merges into or overwrites a registry; choose an empty --data-dir or move this one aside)', found);
  }
  return 'fresh';
}

async function resolveSnapshot(source: string, wanted: string | undefined): Promise<{ name: string; dir: string; manifest: SnapshotManifest }> {
  if (wanted !== undefined && !isSnapshotName(wanted)) throw new BackupError(`${JSON.stringify(wanted)} is not a snapshot name (like 20250102T030405Z)`);
  let name = wanted ?? (await readLatest(source));
  if (!name) {
    const all = await listSnapshots(source);
    if (all.length === 0) throw new BackupError(`${source} holds no snapshot (expected ${join(source, snapshotsDir, '<name>')})`);
    name = all[all.length - 1]!;
  }
  const dir = join(source, snapshotsDir, name);
  if (!(await pathExists(dir))) {
    const all = await listSnapshots(source);
    throw new BackupError(`no snapshot ${name} in ${source}; snapshots: ${all.length ? all.join(', ') : 'none'}`);
  }
  return { name, dir, manifest: await readSnapshotManifest(dir) };
}

/** One blob from the backup into storage: staged, hashed on the way, committed only when it matches. */
async function restoreBlob(driver: BlobDriver, source: string, blob: SnapshotBlob, onBytes: (n: number) => void): Promise<void> {
  const parsed = parseDigest(blob.digest)!;
  const path = backupBlobPath(source, blob.digest);
  const handle = await open(path, 'r').catch((err: unknown) => {
    throw isMissing(err) ? new BackupError(`${blob.digest} is missing from the backup (${path})`) : err;
  });
  const hasher = new DigestHasher(parsed.algorithm);
  const id = `restore-${randomUUID()}`;
  await driver.createUpload(id);
  try {
    await driver.appendUpload(id, 0, hasher.through(handle.createReadStream({ highWaterMark: 1 << 20 }), onBytes));
    checkDigest(blob.digest, blob.size, hasher.result());
    await driver.commitUpload(id, blobKey(parsed));
  } catch (err) {
    await driver.abortUpload(id).catch(() => undefined);
    throw err;
  } finally {
    await handle.close().catch(() => undefined);
  }
}

export async function runRestore(options: RestoreOptions): Promise<RestoreSummary> {
  const started = Date.now();
  const { config } = options;
  const source = resolve(options.source);
  if (isVolatileMetadataStore(config)) throw new BackupError('restore needs a metadata store that outlives the process (not :memory:)');
  const { name, dir, manifest } = await resolveSnapshot(source, options.snapshot);
  const mode = await checkTarget(config, source, name);
  const dataDir = config.storage.dataDir;
  await mkdir(dataDir, { recursive: true });
  // Checked before the marker is written: a damaged snapshot leaves the target as it was, free for another one.
  const metadata = await openSnapshotMetadata(name, dir, manifest, dataDir);
  try {
    const { blobs, tags } = metadata.contents;
    const listed = new Map(manifest.blobs.map((b) => [b.digest, b.size]));
    const disagree = blobs.filter((b) => listed.get(b.digest) !== b.size).map((b) => b.digest);
    if (disagree.length > 0 || blobs.length !== listed.size) {
      throw new BackupError(`snapshot ${name} is damaged: its metadata and manifest.json list different blobs`, disagree.slice(0, 10));
    }
    if (mode === 'fresh') {
      const marker: Marker = { source, snapshot: name, startedAt: new Date().toISOString() };
      await writeFileAtomic(join(dataDir, restoreMarker), `${JSON.stringify(marker)}\n`);
    } else {
      options.onNotice?.(`resuming the interrupted restore of snapshot ${name}`);
    }
    const { restored, restoredBytes, resumed } = await restoreBlobs(options, source, name, blobs);

    const store = openMetadataStore(config);
    try {
      await store.importSnapshot(metadata.lines()).catch((err: unknown) => {
        // Only the interrupted run can have filled the store since the target was found empty: its import committed.
        if (err instanceof StoreNotEmptyError && mode === 'resume') options.onNotice?.('the interrupted restore had imported the metadata already');
        else if (err instanceof StoreNotEmptyError) throw new BackupError(`refusing to restore: ${err.message}`);
        else throw metadata.explain(err);
      });
      await endUploadSessions(store);
    } finally {
      await store.close();
    }
    await metadata.cleanup();
    await rm(join(dataDir, restoreMarker), { force: true });
    await fsyncDir(dataDir);
    return {
      snapshot: name,
      createdAt: manifest.createdAt,
      dataDir,
      repositories: metadata.contents.repositories,
      manifests: metadata.contents.manifests,
      tags,
      blobs: blobs.length,
      blobBytes: metadata.contents.blobBytes,
      restored,
      restoredBytes,
      resumed,
      durationMs: Date.now() - started,
    };
  } finally {
    await metadata.cleanup();
  }
}

/**
 * Upload sessions were open when the snapshot was taken, but their staged bytes are not in a backup: in the
 * restored registry they could not go on, and would count toward quotas and session limits until purged.
 */
async function endUploadSessions(store: MetadataStore): Promise<void> {
  for (;;) {
    const open = await store.listUploadsUpdatedBefore(Number.MAX_SAFE_INTEGER, 500);
    if (open.length === 0) return;
    for (const upload of open) await store.deleteUpload(upload.id);
  }
}

/** Copies into storage the snapshot's blobs it does not hold yet (a resumed restore has some). */
async function restoreBlobs(
  options: RestoreOptions,
  source: string,
  name: string,
  blobs: readonly SnapshotBlob[],
): Promise<{ restored: number; restoredBytes: number; resumed: number }> {
  const driver = createDriver(options.config);
  const todo: SnapshotBlob[] = [];
  let resumed = 0;
  for (const blob of blobs) {
    const present = await driver.stat(blobKey(parseDigest(blob.digest)!));
    if (present && present.size === blob.size) resumed++;
    else todo.push(blob);
  }
  const bytesTotal = todo.reduce((n, b) => n + b.size, 0);
  let blobsDone = 0;
  let bytesDone = 0;
  const report = () => options.onProgress?.({ blobsDone, blobsTotal: todo.length, bytesDone, bytesTotal });
  report();
  const problems: string[] = [];
  await forEachLimit(todo, options.concurrency ?? 4, async (blob) => {
    try {
      await restoreBlob(driver, source, blob, (n) => {
        bytesDone += n;
        report();
      });
    } catch (err) {
      if (err instanceof DigestMismatchError) problems.push(`${blob.digest} in the backup is corrupt: ${err.actualSize} bytes hashing to ${err.actual}`);
      else if (err instanceof BackupError) problems.push(err.message);
      else throw err;
    }
    blobsDone++;
    report();
  });
  if (problems.length > 0) {
    throw new BackupError(
      `restore failed: ${problems.length} blob(s) of snapshot ${name} are missing or corrupt in ${source}; ` +
        `the data dir is incomplete (no metadata was imported). Restore an older snapshot into an empty directory`,
      problems.slice(0, 20),
    );
  }
  return { restored: todo.length, restoredBytes: bytesTotal, resumed };
}
