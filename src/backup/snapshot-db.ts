// Reading a metadata snapshot (the SQLite file a backup holds) through the store interface, for backup and restore.
import { rm } from 'node:fs/promises';
import type { MetadataStore } from '../metadata/store.js';
import { openMetadataSnapshot } from '../metadata/open.js';
import { fileSize } from './files.js';
import { BackupError, type SnapshotBlob } from './layout.js';

export interface SnapshotContents {
  readonly blobs: SnapshotBlob[];
  readonly repositories: number;
  readonly manifests: number;
  readonly tags: number;
  readonly blobBytes: number;
}

/** Every blob record (digest order) and the number of tags, paged so that a large registry is not read at once. */
export async function listBlobsAndTags(store: MetadataStore): Promise<{ blobs: SnapshotBlob[]; tags: number }> {
  const blobs: SnapshotBlob[] = [];
  for (let last = ''; ; ) {
    const page = await store.listBlobs({ last, limit: 1000 });
    for (const b of page) blobs.push({ digest: b.digest, size: b.size });
    if (page.length < 1000) break;
    last = page[page.length - 1]!.digest;
  }
  let tags = 0;
  for (let last = ''; ; ) {
    const page = await store.listRepositoryUsage({ last, limit: 500 });
    for (const r of page) tags += r.tags;
    if (page.length < 500) break;
    last = page[page.length - 1]!.name;
  }
  return { blobs, tags };
}

/** Everything backup needs to know from a metadata snapshot. */
export async function readSnapshot(path: string): Promise<SnapshotContents> {
  const store = openMetadataSnapshot(path);
  try {
    const { blobs, tags } = await listBlobsAndTags(store);
    const stats = await store.stats();
    return { blobs, tags, repositories: stats.repositories, manifests: stats.manifests, blobBytes: stats.blobBytes };
  } finally {
    await store.close();
    await selfContained(path);
  }
}

/** Closing the last connection checkpoints and removes metadata.db-wal: the snapshot must be one file. */
async function selfContained(path: string): Promise<void> {
  if (((await fileSize(`${path}-wal`)) ?? 0) > 0) throw new BackupError(`the metadata snapshot left ${path}-wal behind: it is not self-contained`);
  await rm(`${path}-wal`, { force: true });
  await rm(`${path}-shm`, { force: true });
}

/** Removes from the snapshot the records of blobs no manifest in it references; returns the others. */
export async function dropUnreferenced(path: string, digests: readonly string[]): Promise<string[]> {
  const store = openMetadataSnapshot(path);
  const needed: string[] = [];
  try {
    for (const digest of digests) {
      if ((await store.manifestsReferencing(digest)).length > 0) needed.push(digest);
      else await store.removeBlobRecord(digest);
    }
  } finally {
    await store.close();
    await selfContained(path);
  }
  return needed;
}
