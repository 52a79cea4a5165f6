// Serving a file region to a socket: reused read buffers, the next read under way while the previous buffer is
// being written. A fresh buffer per chunk (what fs read streams do) costs an allocation and page faults on every
// megabyte, and one read ahead leaves the socket idle while the disk read waits: both showed up as ~3× the CPU
// per byte of streaming through a few fixed buffers.
import type { FileHandle } from 'node:fs/promises';
import type { Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { destinationClosed } from './driver.js';

const MiB = 1024 * 1024;

/**
 * Large read buffers shared by every download in the process, so their total stays bounded however many run at
 * once. Buffers are created on first use and kept; a download that finds the pool empty falls back to small
 * buffers of its own (slower per byte, but never blocked behind other downloads).
 */
export class BufferPool {
  private readonly idle: Buffer[] = [];
  private lent = 0;

  constructor(
    readonly bufferSize = 4 * MiB,
    readonly capacity = 8,
  ) {}

  take(): Buffer | undefined {
    const buf = this.idle.pop() ?? (this.lent + this.idle.length < this.capacity ? Buffer.allocUnsafeSlow(this.bufferSize) : undefined);
    if (buf) this.lent++;
    return buf;
  }

  give(buf: Buffer): void {
    this.lent--;
    this.idle.push(buf);
  }

  /** Buffers handed out and not yet given back: 0 whenever no download is running (tests check for leaks). */
  get inUse(): number {
    return this.lent;
  }
}

export const sharedBufferPool = new BufferPool();

/** Buffers per download: one being written, one being read, one read ahead when the disk is faster than the socket. */
const DEPTH = 3;
/** Without pooled buffers a download still keeps a read and a write in flight, with this much memory each. */
const FALLBACK_SIZE = 256 * 1024;
/** Regions up to this size go out in one read and one write into an exact-size buffer; pooling buys nothing there. */
const SMALL = 64 * 1024;

function truncated(position: number): Error {
  return new Error(`file ended at byte ${position}, before the region to send`);
}

/**
 * Writes bytes [start, end) of the open file to destination and ends it; resolves once it finished. Does not close
 * the handle (the caller owns it). Rejects when the destination closes or fails first, or a read fails; the
 * destination is left for the caller to destroy. Pooled buffers go back to the pool only once nothing can touch
 * them: after their write callback, or once the destination has closed.
 */
export async function sendFileRegion(handle: FileHandle, start: number, end: number, destination: Writable, pool: BufferPool = sharedBufferPool): Promise<void> {
  if (end - start <= SMALL) {
    const buf = Buffer.allocUnsafe(end - start);
    const { bytesRead } = buf.length > 0 ? await handle.read(buf, 0, buf.length, start) : { bytesRead: 0 };
    if (bytesRead < buf.length) throw truncated(start + bytesRead);
    destination.end(buf);
    await finished(destination);
    return;
  }

  const pooled = new Set<Buffer>();
  const free: Buffer[] = [];
  for (let i = 0; i < DEPTH; i++) {
    const buf = pool.take();
    if (!buf) break;
    pooled.add(buf);
    free.push(buf);
  }
  while (free.length < 2) free.push(Buffer.allocUnsafeSlow(FALLBACK_SIZE));

  let failure: Error | undefined;
  let wake: (() => void) | undefined;
  const signal = (): void => {
    wake?.();
    wake = undefined;
  };
  let settled = false;
  const release = (buf: Buffer): void => {
    if (settled && pooled.delete(buf)) pool.give(buf);
    else free.push(buf);
  };
  const onClose = (): void => {
    failure ??= destinationClosed();
    signal();
  };
  const onError = (err: Error): void => {
    failure ??= err;
    signal();
  };
  destination.on('close', onClose);
  destination.on('error', onError);
  if (destination.destroyed) failure = destinationClosed();

  try {
    for (let position = start; position < end; ) {
      while (free.length === 0 && !failure) await new Promise<void>((resolve) => (wake = resolve));
      if (failure) throw failure;
      const buf = free.pop()!;
      let bytesRead: number;
      try {
        ({ bytesRead } = await handle.read(buf, 0, Math.min(buf.length, end - position), position));
      } catch (err) {
        free.push(buf);
        throw err;
      }
      if (bytesRead === 0) {
        free.push(buf);
        throw truncated(position);
      }
      if (failure) {
        free.push(buf);
        throw failure;
      }
      position += bytesRead;
      // Written as a view, not copied: the buffer is not read into again until this callback says the socket
      // (or whatever the destination is) is done with it.
      destination.write(bytesRead === buf.length ? buf : buf.subarray(0, bytesRead), () => {
        release(buf);
        signal();
      });
    }
    destination.end();
    await finished(destination);
  } finally {
    settled = true;
    destination.off('error', onError);
    destination.off('close', onClose);
    for (const buf of free) if (pooled.delete(buf)) pool.give(buf);
    // Buffers still queued in a failed destination: the destination's close means no write of them is pending.
    if (pooled.size > 0) {
      const reclaim = (): void => {
        for (const buf of pooled) pool.give(buf);
        pooled.clear();
      };
      if (destination.closed) reclaim();
      else destination.once('close', reclaim);
    }
  }
}
