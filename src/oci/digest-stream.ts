// Hashing content as it streams past, for everything that checks bytes against their digest (uploads, backup,
// restore, fsck, import): the bytes are read once, and counted on the way, since a record states a size too and a
// digest alone would not tell a truncated copy from a missing record.
import type { Hash } from 'node:crypto';
import { Readable, Transform } from 'node:stream';
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
   * source's bytes, hashed and counted as they are read: `onBytes` sees each chunk's length first (for progress, or
   * to refuse the rest by throwing). See passing() for how failures travel.
   */
  through(source: Readable, onBytes?: (n: number) => void): Readable {
    return passing(source, (chunk) => {
      onBytes?.(chunk.length);
      this.update(chunk);
    });
  }
}

/**
 * source's bytes, each shown to `onChunk` on its way: one stage, where a pipe into a Transform needed two and extra
 * plumbing to carry the source's failure. The source's failure (even one before this call) fails what is returned,
 * and so does `onChunk` throwing. The source is not destroyed when the reader gives up: an HTTP request body must
 * stay readable, to discard the rest of it before answering.
 */
export function passing(source: Readable, onChunk: (chunk: Buffer) => void): Readable {
  return Readable.from(
    (async function* () {
      for await (const chunk of source.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer>) {
        onChunk(chunk);
        yield chunk;
      }
    })(),
    { objectMode: false },
  );
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
