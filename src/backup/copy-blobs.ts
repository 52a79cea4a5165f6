// The blob stage of a backup: which blobs of the snapshot DEST lacks, and copying them from storage, verified.
import { join } from 'node:path';
import type { MetadataStore } from '../metadata/store.js';
import { parseDigest } from '../oci/digest.js';
import { NotFoundError } from '../storage/driver.js';
import { blobKey } from '../storage/paths.js';
import type { BackupOptions } from './backup.js';
import { copyVerified, DigestMismatchError, fileSize, hashFile } from './files.js';
import { backupBlobPath, type SnapshotBlob } from './layout.js';
import { forEachLimit } from './pool.js';

export interface CopyCounts {
  copied: number;
  copiedBytes: number;
  skipped: number;
  skippedBytes: number;
  replaced: number;
}

export type CopyProblem =
  | { readonly kind: 'collected'; readonly digest: string }
  | { readonly kind: 'lost' | 'corrupt'; readonly digest: string; readonly message: string };

/**
 * Which blobs DEST lacks; those it has are counted. Size is the cheap check (a file only gets its name once
 * verified); verifyExisting re-hashes. `copiedThisRun`: blobs copied by earlier attempts of this run (digest ->
 * size), reported as copied, not as already there.
 */
export async function planCopies(
  options: BackupOptions,
  blobs: readonly SnapshotBlob[],
  copiedThisRun: ReadonlyMap<string, number>,
): Promise<{ counts: CopyCounts; toCopy: SnapshotBlob[] }> {
  const counts: CopyCounts = { copied: 0, copiedBytes: 0, skipped: 0, skippedBytes: 0, replaced: 0 };
  const toCopy: SnapshotBlob[] = [];
  for (const blob of blobs) {
    const path = backupBlobPath(options.dest, blob.digest);
    const size = await fileSize(path);
    let present = size === blob.size;
    if (present && options.verifyExisting && !copiedThisRun.has(blob.digest)) {
      const parsed = parseDigest(blob.digest)!;
      const actual = await hashFile(path, parsed.algorithm);
      if (actual?.digest !== blob.digest) {
        present = false;
        counts.replaced++;
        options.onNotice?.(`${blob.digest} in the backup directory does not match its digest; copying it again`);
      }
    }
    if (present && copiedThisRun.has(blob.digest)) {
      counts.copied++;
      counts.copiedBytes += blob.size;
    } else if (present) {
      counts.skipped++;
      counts.skippedBytes += blob.size;
    } else {
      toCopy.push(blob);
    }
  }
  return { counts, toCopy };
}

async function describeUsers(metadata: MetadataStore, digest: string): Promise<string> {
  const users = await metadata.manifestsReferencing(digest).catch(() => []);
  if (users.length === 0) return '';
  const shown = users.slice(0, 5).map((u) => `${u.repository}@${u.digest}`);
  return `; used by ${shown.join(', ')}${users.length > 5 ? ` and ${users.length - 5} more` : ''}`;
}

/**
 * Copies the blobs from storage into DEST, adding to `counts` and `copiedThisRun`; returns the blobs that could not
 * be copied and the directories written to (to be fsynced before the snapshot is declared complete).
 */
export async function copyBlobs(
  options: BackupOptions,
  toCopy: readonly SnapshotBlob[],
  counts: CopyCounts,
  copiedThisRun: Map<string, number>,
): Promise<{ problems: CopyProblem[]; touchedDirs: Set<string> }> {
  const { dest, metadata, driver } = options;
  const bytesTotal = toCopy.reduce((n, b) => n + b.size, 0);
  let blobsDone = 0;
  let bytesDone = 0;
  const report = () => options.onProgress?.({ phase: 'blobs', blobsDone, blobsTotal: toCopy.length, bytesDone, bytesTotal });
  report();
  const problems: CopyProblem[] = [];
  const touchedDirs = new Set<string>();
  await forEachLimit(toCopy, options.concurrency ?? 4, async (blob) => {
    const parsed = parseDigest(blob.digest)!;
    const path = backupBlobPath(dest, blob.digest);
    let source;
    try {
      source = await driver.read(blobKey(parsed));
    } catch (err) {
      if (!(err instanceof NotFoundError)) throw err;
      blobsDone++;
      if (!(await metadata.getBlob(blob.digest))) {
        problems.push({ kind: 'collected', digest: blob.digest });
      } else {
        const users = await describeUsers(metadata, blob.digest);
        problems.push({
          kind: 'lost',
          digest: blob.digest,
          message: `${blob.digest} (${blob.size} bytes) is recorded but its bytes are missing from storage${users}`,
        });
      }
      return;
    }
    let counted = 0;
    try {
      await copyVerified(source, path, blob.digest, blob.size, (n) => {
        counted += n;
        bytesDone += n;
        report();
      });
      touchedDirs.add(join(path, '..'));
      counts.copied++;
      counts.copiedBytes += blob.size;
      copiedThisRun.set(blob.digest, blob.size);
    } catch (err) {
      bytesDone -= counted;
      if (!(err instanceof DigestMismatchError)) throw err;
      const users = await describeUsers(metadata, blob.digest);
      problems.push({
        kind: 'corrupt',
        digest: blob.digest,
        message: `${blob.digest} in storage is corrupt: ${err.actualSize} bytes hashing to ${err.actual} (expected ${err.expectedSize} bytes)${users}`,
      });
    }
    blobsDone++;
    report();
  });
  return { problems, touchedDirs };
}
