// Deterministic blob content for the benchmark: any size, generated on the fly from one random buffer, never held whole.
//
// Every blob is a sequence of PERIOD-sized blocks. Each block is a 16-byte header (blob id + block index) followed by
// the same random base bytes, so every block of every blob differs while sending costs no copying or generating:
// a request body is a list of zero-copy views of the header and the base. Digests are computed once, before any
// timed phase, and verification of downloads compares bytes (cheaper for the client than a second sha256, and stricter).
import { createHash, randomBytes } from 'node:crypto';

export const PERIOD = 8 * 1024 * 1024;
const HEADER = 16;

export interface BlobData {
  readonly size: number;
  /** `sha256:<hex>`, computed on first use and remembered. */
  digest(): string;
  /** Zero-copy views covering bytes [start, end) of the blob, clamped to its size. */
  segments(start: number, end: number): Buffer[];
}

/** True when `buf` is exactly the blob's bytes at [offset, offset + buf.length). */
export function matchesAt(blob: BlobData, offset: number, buf: Buffer): boolean {
  let pos = 0;
  for (const seg of blob.segments(offset, offset + buf.length)) {
    if (!seg.equals(buf.subarray(pos, pos + seg.length))) return false;
    pos += seg.length;
  }
  return pos === buf.length;
}

function hashSegments(blob: BlobData): string {
  const h = createHash('sha256');
  // Hash one period at a time so a 512 MiB blob never needs a 512 MiB array of views.
  for (let start = 0; start < blob.size; start += PERIOD) {
    for (const seg of blob.segments(start, start + PERIOD)) h.update(seg);
  }
  return `sha256:${h.digest('hex')}`;
}

class GeneratedBlob implements BlobData {
  private cached: string | undefined;
  private readonly id: Buffer;

  constructor(
    private readonly base: Buffer,
    key: string,
    readonly size: number,
  ) {
    this.id = createHash('sha256').update(key).digest().subarray(0, 8);
  }

  digest(): string {
    this.cached ??= hashSegments(this);
    return this.cached;
  }

  private header(block: number): Buffer {
    const h = Buffer.allocUnsafe(HEADER);
    this.id.copy(h, 0);
    h.writeBigUInt64BE(BigInt(block), 8);
    return h;
  }

  segments(start: number, end: number): Buffer[] {
    const stop = Math.min(end, this.size);
    const out: Buffer[] = [];
    for (let block = Math.floor(start / PERIOD); block * PERIOD < stop; block++) {
      const blockStart = block * PERIOD;
      const a = Math.max(start, blockStart) - blockStart;
      const b = Math.min(stop, blockStart + PERIOD) - blockStart;
      if (a < HEADER) out.push(this.header(block).subarray(a, Math.min(b, HEADER)));
      if (b > HEADER) out.push(this.base.subarray(Math.max(a, HEADER), b));
    }
    return out;
  }
}

class BufferBlob implements BlobData {
  private cached: string | undefined;
  constructor(private readonly bytes: Buffer) {}
  get size(): number {
    return this.bytes.length;
  }
  digest(): string {
    this.cached ??= `sha256:${createHash('sha256').update(this.bytes).digest('hex')}`;
    return this.cached;
  }
  segments(start: number, end: number): Buffer[] {
    return start < this.bytes.length ? [this.bytes.subarray(start, Math.min(end, this.bytes.length))] : [];
  }
}

/**
 * One run's content. The base is random per run so a long-lived `--target` registry cannot already hold the blobs;
 * within the run, the same key gives the same bytes, so both registries receive identical data.
 */
export class ContentSource {
  private readonly base = randomBytes(PERIOD);
  private readonly blobs = new Map<string, BlobData>();

  /** The same key and size give the same object, so a digest is computed once for both registries. */
  blob(key: string, size: number): BlobData {
    const id = `${key}#${size}`;
    let blob = this.blobs.get(id);
    if (!blob) this.blobs.set(id, (blob = new GeneratedBlob(this.base, key, size)));
    return blob;
  }

  bytes(bytes: Buffer): BlobData {
    return new BufferBlob(bytes);
  }

  /** A short tag unique to this run, for repository names. */
  readonly runId = randomBytes(4).toString('hex');
}
