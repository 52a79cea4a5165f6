// `wharf backup DEST`: a consistent snapshot of a (possibly serving) registry, incremental over earlier ones.
//
// Order: the metadata is exported first, as of one instant (the store's logical export, see
// metadata/export-format.ts: whichever database holds it); then every blob the *snapshot* lists is copied from
// storage unless DEST already has it. Content addressing makes that safe while pushes go on: a blob recorded in
// the snapshot had its bytes committed before its record (uploads commit bytes first), and bytes never change.
// What can happen is that garbage collection deletes a blob after the snapshot recorded it: the copy then finds
// no bytes and the live store no record. If no manifest of the snapshot uses the blob, it was garbage already and
// its record is dropped from the snapshot (the state just after GC took it). Otherwise (its manifest was deleted
// after the snapshot) the snapshot could not be restored, so it is thrown away and a new one taken, which no
// longer references the blob, up to maxAttempts (cheap: blobs already copied are not copied again). A blob missing
// from storage that the live store still records is lost data: the backup fails naming it.
import { mkdir, readdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { exportFormat, exportVersion, type ExportSink } from '../metadata/export-format.js';
import type { MetadataStore } from '../metadata/store.js';
import type { BlobDriver } from '../storage/driver.js';
import { copyBlobs, planCopies, type CopyCounts, type CopyProblem } from './copy-blobs.js';
import { acquireLock, fsyncDir, hashFile, pathExists, writeFileAtomic } from './files.js';
import { dropBlobRecords, referencedBlobs, writeMetadataFile, type MetadataContents } from './metadata-file.js';
import {
  BackupError,
  compareSnapshotNames,
  latestFile,
  listSnapshots,
  lockFile,
  manifestFile,
  metadataFile,
  partialPrefix,
  snapshotFormat,
  snapshotName,
  snapshotsDir,
  type SnapshotManifest,
} from './layout.js';
import { prune, type PruneSummary } from './prune.js';

export type { PruneSummary } from './prune.js';

export interface BackupProgress {
  readonly phase: 'metadata' | 'blobs' | 'prune';
  readonly blobsDone: number;
  readonly blobsTotal: number;
  readonly bytesDone: number;
  readonly bytesTotal: number;
}

export interface BackupOptions {
  readonly dest: string;
  /**
   * The live metadata store: exported, and asked about blobs that storage no longer has and what a corrupt blob
   * breaks.
   */
  readonly metadata: MetadataStore;
  readonly driver: BlobDriver;
  /** Exports the metadata into the sink; default metadata.exportSnapshot (tests wrap it to act in between). */
  readonly exportMetadata?: (sink: ExportSink) => Promise<unknown>;
  /** Keep this many snapshots (the new one included), deleting older ones and blobs no kept snapshot needs. */
  readonly keep?: number;
  /** Re-hash blobs already in DEST instead of trusting their size, and replace those that do not match. */
  readonly verifyExisting?: boolean;
  /** Blobs copied at once; default 4. */
  readonly concurrency?: number;
  /** Snapshots taken when garbage collection removes a blob between snapshot and copy; default 5. */
  readonly maxAttempts?: number;
  readonly now?: () => Date;
  readonly onProgress?: (progress: BackupProgress) => void;
  /** Things worth telling the operator that do not fail the backup. */
  readonly onNotice?: (message: string) => void;
}

export interface BackupSummary {
  readonly snapshot: string;
  readonly path: string;
  readonly repositories: number;
  readonly manifests: number;
  readonly tags: number;
  readonly blobs: number;
  readonly blobBytes: number;
  readonly copied: number;
  readonly copiedBytes: number;
  /** Blobs already in DEST (from earlier backups). */
  readonly skipped: number;
  readonly skippedBytes: number;
  /** Blobs in DEST that did not match their digest (only looked for with verifyExisting) and were copied again. */
  readonly replaced: number;
  readonly attempts: number;
  readonly pruned: PruneSummary | null;
  readonly durationMs: number;
}

let versionCache: string | null = null;

/** The version in package.json (dist/src/backup/ -> project root). */
export async function wharfVersion(): Promise<string> {
  if (versionCache) return versionCache;
  try {
    const pkg = JSON.parse(await readFile(new URL('../../../package.json', import.meta.url), 'utf8')) as { version?: string };
    versionCache = pkg.version ?? 'unknown';
  } catch {
    versionCache = 'unknown';
  }
  return versionCache;
}

/** A name that sorts after every snapshot in DEST, even when the clock went back (prune keeps the last names). */
async function uniqueSnapshotName(dest: string, at: Date): Promise<string> {
  const existing = await listSnapshots(dest);
  const last = existing[existing.length - 1];
  let base = snapshotName(at);
  const lastBase = last?.split('-')[0];
  if (lastBase && lastBase > base) base = lastBase;
  for (let n = 0; ; n++) {
    const name = n === 0 ? base : `${base}-${n}`;
    if (last && compareSnapshotNames(name, last) <= 0) continue;
    if (!(await pathExists(join(dest, snapshotsDir, `${partialPrefix}${name}`)))) return name;
  }
}

export async function runBackup(options: BackupOptions): Promise<BackupSummary> {
  const started = Date.now();
  const { dest, metadata } = options;
  const exportMetadata = options.exportMetadata ?? ((sink: ExportSink) => metadata.exportSnapshot(sink));
  const maxAttempts = options.maxAttempts ?? 5;
  const now = options.now ?? (() => new Date());
  if (options.keep !== undefined && (!Number.isSafeInteger(options.keep) || options.keep < 1)) {
    throw new BackupError(`keep must be a positive integer, got ${options.keep}`);
  }
  await mkdir(join(dest, snapshotsDir), { recursive: true });
  const lock = await acquireLock(join(dest, lockFile), 'backup to this directory');
  try {
    // Leftovers of backups that failed or were killed: we hold the lock, so nobody is writing them.
    for (const entry of await readdir(join(dest, snapshotsDir))) {
      if (entry.startsWith(partialPrefix)) await rm(join(dest, snapshotsDir, entry), { recursive: true, force: true });
    }
    const copiedThisRun = new Map<string, number>();
    for (let attempt = 1; ; attempt++) {
      const name = await uniqueSnapshotName(dest, now());
      const partial = join(dest, snapshotsDir, `${partialPrefix}${name}`);
      try {
        const result = await attemptBackup(options, exportMetadata, name, partial, copiedThisRun);
        if (result.kind === 'collected') {
          await rm(partial, { recursive: true, force: true });
          if (attempt >= maxAttempts) {
            throw new BackupError(
              `garbage collection kept deleting blobs the metadata snapshot references (${attempt} attempts); ` +
                'run the backup again, or when garbage collection is idle',
              result.digests.slice(0, 20),
            );
          }
          options.onNotice?.(
            `${result.digests.length} blob(s) were garbage-collected after the metadata snapshot; taking a new snapshot (attempt ${attempt + 1})`,
          );
          continue;
        }
        const final = join(dest, snapshotsDir, name);
        await rename(partial, final);
        await fsyncDir(join(dest, snapshotsDir));
        await writeFileAtomic(join(dest, latestFile), `${name}\n`);
        let pruned: PruneSummary | null = null;
        if (options.keep !== undefined) {
          // The snapshot is complete and published: a failure to prune is reported, it does not undo the backup.
          options.onProgress?.({ phase: 'prune', blobsDone: 0, blobsTotal: 0, bytesDone: 0, bytesTotal: 0 });
          pruned = await prune(dest, options.keep, options.onNotice).catch((err: unknown) => {
            options.onNotice?.(`pruning old snapshots failed: ${(err as Error).message}`);
            return null;
          });
        }
        const m = result.manifest;
        return {
          snapshot: name,
          path: final,
          repositories: m.counts.repositories,
          manifests: m.counts.manifests,
          tags: m.counts.tags,
          blobs: m.counts.blobs,
          blobBytes: m.counts.blobBytes,
          ...result.copy,
          attempts: attempt,
          pruned,
          durationMs: Date.now() - started,
        };
      } catch (err) {
        await rm(partial, { recursive: true, force: true }).catch(() => undefined);
        throw err;
      }
    }
  } finally {
    await lock.release();
  }
}

type AttemptResult =
  | { readonly kind: 'collected'; readonly digests: string[] }
  | { readonly kind: 'done'; readonly manifest: SnapshotManifest; readonly copy: CopyCounts };

async function attemptBackup(
  options: BackupOptions,
  exportMetadata: (sink: ExportSink) => Promise<unknown>,
  name: string,
  partial: string,
  /** Blobs copied by earlier attempts of this run (digest -> size): reported as copied, not as already there. */
  copiedThisRun: Map<string, number>,
): Promise<AttemptResult> {
  await mkdir(partial, { recursive: true });
  const file = join(partial, metadataFile);
  options.onProgress?.({ phase: 'metadata', blobsDone: 0, blobsTotal: 0, bytesDone: 0, bytesTotal: 0 });
  const contents = await writeMetadataFile(file, exportMetadata).catch((err: unknown) => {
    throw new BackupError(`exporting the metadata store failed: ${(err as Error).message}`);
  });

  const { counts, toCopy } = await planCopies(options, contents.blobs, copiedThisRun);
  const { problems, touchedDirs } = await copyBlobs(options, toCopy, counts, copiedThisRun);

  const fatal = problems.filter((p) => p.kind !== 'collected') as Extract<CopyProblem, { message: string }>[];
  if (fatal.length > 0) {
    throw new BackupError(
      `backup failed: ${fatal.length} blob(s) the snapshot needs cannot be copied intact (run wharf fsck); no snapshot was written`,
      fatal.map((p) => p.message),
    );
  }
  let final: MetadataContents = contents;
  if (problems.length > 0) {
    // Collected after the snapshot. A blob no manifest of the snapshot uses was garbage already (GC only takes
    // unreferenced blobs): dropping its record gives the state just after GC took it, a real and consistent
    // one. A blob the snapshot still needs (its manifest was deleted after the snapshot) means a new snapshot.
    const collected = problems.map((p) => p.digest);
    const needed = await referencedBlobs(file, collected);
    if (needed.length > 0) return { kind: 'collected', digests: needed };
    options.onNotice?.(`${problems.length} unreferenced blob(s) were garbage-collected during the backup; the snapshot no longer lists them`);
    final = await dropBlobRecords(file, collected);
  }

  // Durability: blob files were fsynced before their rename; their directories are fsynced now, before the
  // manifest that makes the snapshot complete.
  for (const dir of touchedDirs) await fsyncDir(dir);
  const fileInfo = await hashFile(file);
  if (!fileInfo) throw new BackupError(`${file} disappeared`);
  const manifest: SnapshotManifest = {
    format: snapshotFormat,
    name,
    wharfVersion: await wharfVersion(),
    createdAt: contents.createdAt,
    metadata: { file: metadataFile, format: exportFormat, version: exportVersion, source: contents.source, size: fileInfo.size, sha256: fileInfo.digest },
    counts: {
      repositories: final.repositories,
      manifests: final.manifests,
      tags: final.tags,
      blobs: final.blobs.length,
      blobBytes: final.blobBytes,
    },
    blobs: final.blobs,
  };
  await writeFileAtomic(join(partial, manifestFile), `${JSON.stringify(manifest, null, 1)}\n`);
  await fsyncDir(partial);
  return { kind: 'done', manifest, copy: counts };
}
