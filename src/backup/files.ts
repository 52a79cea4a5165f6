// Durable file operations shared by backup and restore: temp file + fsync + rename, digests checked while copying.
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { mkdir, open, readFile, rename, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parseDigest, type DigestAlgorithm } from '../oci/digest.js';
import { DigestHasher, hashStream, type StreamDigest } from '../oci/digest-stream.js';
import { BackupError } from './layout.js';

export function isMissing(err: unknown): boolean {
  return (err as NodeJS.ErrnoException)?.code === 'ENOENT';
}

export async function pathExists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (err) {
    if (isMissing(err)) return false;
    throw err;
  }
}

/** Size of a regular file; null when there is none at path. */
export async function fileSize(path: string): Promise<number | null> {
  try {
    const s = await stat(path);
    return s.isFile() ? s.size : null;
  } catch (err) {
    if (isMissing(err)) return null;
    throw err;
  }
}

export async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export function tempName(path: string): string {
  return `${path}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
}

/** Writes the whole file under a temporary name, fsyncs it, renames it into place and fsyncs the directory. */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const tmp = tempName(path);
  try {
    const handle = await open(tmp, 'w');
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  await fsyncDir(dirname(path));
}

export class DigestMismatchError extends BackupError {
  constructor(
    readonly expected: string,
    readonly actual: string,
    readonly expectedSize: number,
    readonly actualSize: number,
  ) {
    super(`content does not match its digest ${expected}: read ${actualSize} bytes (expected ${expectedSize}) hashing to ${actual}`);
    this.name = 'DigestMismatchError';
  }
}

/** Throws a DigestMismatchError unless the content read is `size` bytes hashing to `digest`. */
export function checkDigest(digest: string, size: number, actual: StreamDigest): void {
  if (actual.digest !== digest || actual.size !== size) throw new DigestMismatchError(digest, actual.digest, size, actual.size);
}

/**
 * Streams source into path (through a temp file, fsynced, then renamed) while hashing it; when the bytes do not
 * hash to `digest` or are not `size` long, nothing is left at path and a DigestMismatchError is thrown.
 * `onBytes` reports progress as chunks pass.
 */
export async function copyVerified(source: Readable, path: string, digest: string, size: number, onBytes?: (n: number) => void): Promise<void> {
  const parsed = parseDigest(digest);
  if (!parsed) throw new BackupError(`not a digest: ${digest}`);
  await mkdir(dirname(path), { recursive: true });
  const tmp = tempName(path);
  const hasher = new DigestHasher(parsed.algorithm);
  try {
    const handle = await open(tmp, 'w');
    await pipeline(source, hasher.tap(onBytes), handle.createWriteStream({ highWaterMark: 1 << 20 })); // closes the handle
    checkDigest(digest, size, hasher.result());
    await fsyncFile(tmp);
    await rename(tmp, path);
  } catch (err) {
    source.destroy();
    await rm(tmp, { force: true });
    throw err;
  }
}

export async function fsyncFile(path: string): Promise<void> {
  const handle = await open(path, 'r+');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Hashes a file; null when it does not exist. */
export async function hashFile(path: string, algorithm: DigestAlgorithm = 'sha256'): Promise<StreamDigest | null> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (err) {
    if (isMissing(err)) return null;
    throw err;
  }
  try {
    return await hashStream(handle.createReadStream({ highWaterMark: 1 << 20, autoClose: false }), algorithm);
  } finally {
    await handle.close();
  }
}

export interface DirLock {
  release(): Promise<void>;
}

interface LockOwner {
  readonly pid: number;
  readonly host: string;
  readonly since: string;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * An exclusive lock file (created with O_EXCL). A lock left by a process of this host that no longer runs is taken
 * over; one held by a live process, or by another host, is refused with a message naming the holder.
 */
export async function acquireLock(path: string, purpose: string): Promise<DirLock> {
  const me: LockOwner = { pid: process.pid, host: hostname(), since: new Date().toISOString() };
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      await writeFile(path, `${JSON.stringify(me)}\n`, { flag: 'wx' });
      return {
        release: async () => {
          await unlink(path).catch(() => undefined);
        },
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    let holder: LockOwner | null = null;
    try {
      holder = JSON.parse(await readFile(path, 'utf8')) as LockOwner;
    } catch {
      holder = null; // half-written by a process that died right then, or removed meanwhile
    }
    if (holder && typeof holder.pid === 'number' && (holder.host !== me.host || processAlive(holder.pid))) {
      throw new BackupError(
        `${path} is held by process ${holder.pid} on ${holder.host} since ${holder.since}: another ${purpose} is running ` +
          `(if it is not, remove the file)`,
      );
    }
    await unlink(path).catch(() => undefined); // stale: its holder is gone
  }
  throw new BackupError(`cannot take the lock ${path}`);
}
