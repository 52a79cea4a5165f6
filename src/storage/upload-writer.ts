// Appending a request body to a staged upload file. One consumer does it all: chunks are gathered into batches of
// 256 KiB and each batch goes out in one positional writev while the next one is gathered, with at most one write
// in flight (the source waits while it runs, which is the back-pressure). This replaces a pipeline into an
// fs.WriteStream: no stream plumbing per chunk, the handle that wrote the bytes syncs them, and the disk is asked to
// write back every 64 MiB while the upload is still arriving, so the final sync of a large blob waits for the last
// stretch instead of all of it (the page cache of a large machine would otherwise hold a whole 512 MiB blob dirty).
import type { FileHandle } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { chunksDone } from './young-garbage.js';

const MiB = 1024 * 1024;
/** Bytes gathered before a write: few syscalls (2,048 for 512 MiB), little held per upload (8 pushes hold 4 MiB). */
const BATCH = 256 * 1024;
/** Bytes written between write-backs started during the upload. */
const WRITE_BACK_EVERY = 64 * MiB;

/** Writes every buffer at position, resuming after a short write. */
async function writeFully(handle: FileHandle, buffers: Buffer[], position: number): Promise<void> {
  let list = buffers;
  let at = position;
  while (list.length > 0) {
    const { bytesWritten } = await handle.writev(list, at);
    if (bytesWritten <= 0) throw new Error(`short write at byte ${at} of a staged upload`);
    at += bytesWritten;
    let skip = bytesWritten;
    while (list.length > 0 && skip >= list[0]!.length) skip -= list.shift()!.length;
    if (skip > 0) list = [list[0]!.subarray(skip), ...list.slice(1)];
  }
}

/**
 * Appends everything source yields at offset and syncs the file; resolves with the new size. On failure the bytes
 * received before it are written (unless a write itself failed: nothing may follow a gap) and synced, so a resumed
 * upload continues from what was received; the handle is left to the caller.
 */
export async function appendToFile(handle: FileHandle, offset: number, source: Readable): Promise<number> {
  let position = offset;
  let batch: Buffer[] = [];
  let batchBytes = 0;
  let writing: Promise<void> = Promise.resolve();
  let writeFailed = false;
  let writeBack: Promise<void> | null = null;
  let sinceWriteBack = 0;

  const flushBatch = (): void => {
    const buffers = batch;
    const at = position;
    const bytes = batchBytes;
    position += bytes;
    batch = [];
    batchBytes = 0;
    writing = writing.then(() =>
      writeFully(handle, buffers, at).then(
        () => chunksDone(bytes),
        (err: unknown) => {
          writeFailed = true;
          throw err;
        },
      ),
    );
    writing.catch(() => undefined); // awaited later; a failure meanwhile is not an unhandled rejection
    sinceWriteBack += bytes;
    if (sinceWriteBack >= WRITE_BACK_EVERY && !writeBack) {
      sinceWriteBack = 0;
      const started = writing.then(() => handle.datasync());
      writeBack = started.then(
        () => void (writeBack = null),
        () => void (writeBack = null), // the final sync reports a failing disk
      );
    }
  };

  try {
    for await (const chunk of source as AsyncIterable<Buffer>) {
      batch.push(chunk);
      batchBytes += chunk.length;
      if (batchBytes >= BATCH) {
        await writing; // the previous batch is written before this one goes out
        flushBatch();
      }
    }
    if (batchBytes > 0) flushBatch();
    await writing;
  } catch (err) {
    await writing.catch(() => undefined);
    if (!writeFailed && batchBytes > 0) {
      flushBatch();
      await writing.catch(() => undefined);
    }
    await writeBack;
    await handle.sync().catch(() => undefined);
    throw err;
  }
  await writeBack;
  await handle.sync();
  return position;
}
