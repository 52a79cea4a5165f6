import { mkdir, open, readdir, rename, rm, stat, unlink, type FileHandle } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { NotFoundError, OffsetMismatchError, type BlobDriver, type ByteRange, type StoredObject } from './driver.js';
import { sendFileRegion, sharedBufferPool, type BufferPool } from './file-sender.js';
import { appendToFile } from './upload-writer.js';
import { walkTree } from './walk.js';

const uploadIdPattern = /^[A-Za-z0-9-]{1,100}$/;

function isMissing(err: unknown): boolean {
  return (err as NodeJS.ErrnoException)?.code === 'ENOENT';
}

async function fsyncPath(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Blobs as files under root; uploads staged in root/_uploads and renamed into place (same filesystem, atomic). */
export class FilesystemDriver implements BlobDriver {
  readonly name = 'filesystem';
  private readonly uploadsDir: string;
  private readonly knownDirs = new Set<string>();

  constructor(
    private readonly root: string,
    private readonly pool: BufferPool = sharedBufferPool,
  ) {
    this.uploadsDir = join(root, '_uploads');
  }

  private path(key: string): string {
    // Keys come from paths.ts, never from clients; the check is a last line of defence against traversal.
    if (key.includes('..') || key.startsWith('/')) throw new Error(`invalid storage key: ${key}`);
    return join(this.root, key);
  }

  private uploadPath(uploadId: string): string {
    if (!uploadIdPattern.test(uploadId)) throw new NotFoundError(uploadId);
    return join(this.uploadsDir, uploadId);
  }

  private async ensureDir(dir: string): Promise<void> {
    if (this.knownDirs.has(dir)) return;
    await mkdir(dir, { recursive: true });
    this.knownDirs.add(dir);
  }

  async stat(key: string): Promise<StoredObject | null> {
    try {
      const s = await stat(this.path(key));
      return s.isFile() ? { size: s.size, modifiedAt: s.mtimeMs } : null;
    } catch (err) {
      if (isMissing(err)) return null;
      throw err;
    }
  }

  private async openForReading(key: string): Promise<FileHandle> {
    return open(this.path(key), 'r').catch((err: unknown) => {
      throw isMissing(err) ? new NotFoundError(key) : err;
    });
  }

  async read(key: string, range?: ByteRange): Promise<Readable> {
    const handle = await this.openForReading(key);
    return handle.createReadStream({ start: range?.start, end: range?.end, highWaterMark: 1 << 20 });
  }

  async send(key: string, range: ByteRange | undefined, destination: Writable, onOpen?: () => void): Promise<void> {
    const handle = await this.openForReading(key);
    try {
      const end = range ? range.end + 1 : (await handle.stat()).size;
      onOpen?.();
      await sendFileRegion(handle, range?.start ?? 0, end, destination, this.pool);
    } finally {
      await handle.close();
    }
  }

  async delete(key: string): Promise<boolean> {
    try {
      await unlink(this.path(key));
      return true;
    } catch (err) {
      if (isMissing(err)) return false;
      throw err;
    }
  }

  async *list(prefix: string): AsyncIterable<string> {
    const start = this.path(prefix.replace(/\/$/, ''));
    for await (const { path, file } of walkTree(start)) if (file) yield relative(this.root, path).split(sep).join('/');
  }

  async createUpload(uploadId: string): Promise<void> {
    await this.ensureDir(this.uploadsDir);
    const handle = await open(this.uploadPath(uploadId), 'wx');
    await handle.close();
  }

  async uploadSize(uploadId: string): Promise<number | null> {
    try {
      return (await stat(this.uploadPath(uploadId))).size;
    } catch (err) {
      if (isMissing(err) || err instanceof NotFoundError) return null;
      throw err;
    }
  }

  async appendUpload(uploadId: string, offset: number, source: Readable): Promise<number> {
    const path = this.uploadPath(uploadId);
    const handle = await open(path, 'r+').catch((err: unknown) => {
      throw isMissing(err) ? new NotFoundError(uploadId) : err;
    });
    const size = (await handle.stat()).size;
    if (size !== offset) {
      await handle.close();
      throw new OffsetMismatchError(offset, size);
    }
    // The handle that wrote the bytes syncs them (commit relies on staged bytes being durable, and never re-opens
    // the file for it); a failed append syncs what it did stage, which the client may resume from or commit.
    try {
      return await appendToFile(handle, offset, source);
    } finally {
      await handle.close();
    }
  }

  async readUpload(uploadId: string): Promise<Readable> {
    const path = this.uploadPath(uploadId);
    const handle = await open(path, 'r').catch((err: unknown) => {
      throw isMissing(err) ? new NotFoundError(uploadId) : err;
    });
    return handle.createReadStream({ highWaterMark: 1 << 20 });
  }

  /**
   * Staged bytes are already on disk (appendUpload synced them). Crash states, in order: before the rename, the
   * upload is still staged and can be resumed or expires; after the rename but before the directory sync, the
   * blob may or may not survive, and nothing records it yet either way; after the directory sync the blob is
   * durable, and only then does the caller record it in metadata, so metadata never names a blob that is missing.
   */
  async commitUpload(uploadId: string, key: string): Promise<void> {
    const from = this.uploadPath(uploadId);
    const to = this.path(key);
    if (await this.stat(key)) {
      await rm(from).catch((err: unknown) => {
        throw isMissing(err) ? new NotFoundError(uploadId) : err;
      });
      return;
    }
    const dir = dirname(to);
    await this.ensureDir(dir);
    await rename(from, to).catch((err: unknown) => {
      throw isMissing(err) ? new NotFoundError(uploadId) : err;
    });
    await fsyncPath(dir);
  }

  async abortUpload(uploadId: string): Promise<void> {
    try {
      await rm(this.uploadPath(uploadId), { force: true });
    } catch (err) {
      if (!(err instanceof NotFoundError)) throw err;
    }
  }

  async *listUploads(): AsyncIterable<{ id: string; modifiedAt: number }> {
    let names: string[];
    try {
      names = await readdir(this.uploadsDir);
    } catch (err) {
      if (isMissing(err)) return;
      throw err;
    }
    for (const id of names) {
      const s = await stat(join(this.uploadsDir, id)).catch(() => null);
      if (s) yield { id, modifiedAt: s.mtimeMs };
    }
  }
}
