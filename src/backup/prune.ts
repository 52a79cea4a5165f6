import { rm } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { digestFromBlobKey } from '../storage/paths.js';
import { walkTree } from '../storage/walk.js';
import { fileSize, fsyncDir } from './files.js';
import { listSnapshots, readSnapshotManifest, snapshotsDir } from './layout.js';

export interface PruneSummary {
  readonly snapshots: readonly string[];
  readonly blobs: number;
  readonly bytes: number;
}

/**
 * Keeps the newest `keep` snapshots; deletes the others and every blob in DEST that no kept snapshot lists.
 * Only called with DEST's lock held.
 */
export async function prune(dest: string, keep: number, onNotice?: (message: string) => void): Promise<PruneSummary> {
  const all = await listSnapshots(dest);
  const removed = all.slice(0, Math.max(0, all.length - keep));
  const kept = all.slice(removed.length);
  for (const name of removed) await rm(join(dest, snapshotsDir, name), { recursive: true, force: true });
  if (removed.length) await fsyncDir(join(dest, snapshotsDir));

  const needed = new Set<string>();
  for (const name of kept) {
    try {
      for (const b of (await readSnapshotManifest(join(dest, snapshotsDir, name))).blobs) needed.add(b.digest);
    } catch (err) {
      // Deleting blobs without knowing what this snapshot needs could break it: leave every blob.
      onNotice?.(`not deleting any blob: ${(err as Error).message}`);
      return { snapshots: removed, blobs: 0, bytes: 0 };
    }
  }
  let blobs = 0;
  let bytes = 0;
  for await (const { path } of walkTree(join(dest, 'blobs'))) {
    const digest = digestFromBlobKey(relative(dest, path).split(sep).join('/'));
    if (digest !== null && needed.has(digest)) continue;
    // Unneeded blobs, and temp files of copies that were killed (we hold the lock: nobody is writing).
    const size = (await fileSize(path)) ?? 0;
    await rm(path, { force: true });
    if (digest !== null) {
      blobs++;
      bytes += size;
    }
  }
  return { snapshots: removed, blobs, bytes };
}
