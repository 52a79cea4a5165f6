// Hashing content as it streams past, for everything that checks bytes against their digest (uploads, backup,
// restore, fsck, import): the bytes are read once, and counted on the way, since a record states a size too and a
// digest alone would not tell a truncated copy from a missing record.
import type { Hash } from 'node:crypto';
import { finished, Transform, type Readable } from 'node:stream';
import { newHash, type DigestAlgorithm } from './digest.js';

export interface StreamDigest {
  /** `algorithm:hex`. */
  readonly digest: string;
  readonly size: number;
}

/** A running digest and byte count of the content seen so far. */
export class DigestHasher {
  private hash: Hash;
  private bytes = 0;

  constructor(readonly algorithm: DigestAlgorithm) {
    this.hash = newHash(algorithm);
  }

  get size(): number {
    return this.bytes;
  }

  update(chunk: Uint8Array): this {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    return this;
  }

  /**
   * The digest of the content so far, in `algorithm:hex` form. It finishes a copy, not the running hash, so that
   * more content may follow (a chunked upload asks between chunks).
   */
  digest(): string {
    return `${this.algorithm}:${this.hash.copy().digest('hex')}`;
  }

  result(): StreamDigest {
    return { digest: this.digest(), size: this.bytes };
  }

  /** An independent hasher in the same state: one can go on while the other is kept (or dropped on a failure). */
  copy(): DigestHasher {
    const twin = new DigestHasher(this.algorithm);
    twin.hash = this.hash.copy();
    twin.bytes = this.bytes;
    return twin;
  }

  /** A pass-through that hashes and counts every chunk on its way; `onBytes` sees each chunk's length, for progress. */
  tap(onBytes?: (n: number) => void): Transform {
    return new Transform({
      transform: (chunk: Buffer, _enc, done) => {
        this.update(chunk);
        onBytes?.(chunk.length);
        done(null, chunk);
      },
    });
  }

  /**
   * source piped through tap(), with the source's failure failing what is returned too: pipe() alone would leave a
   * reader waiting for an end that never comes. finished() also catches a source that failed before this call.
   * The source is not destroyed when the reader gives up (an HTTP request body must stay usable for the answer).
   */
  through(source: Readable, onBytes?: (n: number) => void): Transform {
    const tap = this.tap(onBytes);
    // tap may fail before its reader listens to it; a pipeline still sees tap.errored.
    tap.on('error', () => undefined);
    finished(source, { writable: false }, (err) => {
      if (err) tap.destroy(err);
    });
    return source.pipe(tap);
  }
}

/**
 * Digest and size of everything `source` yields. `onChunk` runs after each chunk is hashed; awaited, so that it can
 * pace the reading (fsck's throttle).
 */
export async function hashStream(
  source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  algorithm: DigestAlgorithm = 'sha256',
  onChunk?: (chunk: Uint8Array) => void | Promise<void>,
): Promise<StreamDigest> {
  const hasher = new DigestHasher(algorithm);
  for await (const chunk of source) {
    hasher.update(chunk);
    await onChunk?.(chunk);
  }
  return hasher.result();
}
