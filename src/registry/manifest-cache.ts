/**
 * Manifest bodies shared between requests, keyed by digest. The metadata store hands out a fresh Buffer per read,
 * so without this every GET of a popular manifest keeps its own copy alive until the client has read it all: 300
 * slow clients of a 4 MB manifest held 1 GB. A digest names its bytes, so one copy serves every repository and
 * every request, and entries never go stale (a deleted manifest is simply not found by the store any more).
 */
export class ManifestBodyCache {
  private readonly entries = new Map<string, Buffer>();
  private bytes = 0;

  /** @param capacity total bytes kept; a body larger than a quarter of it is never kept, so one cannot evict all. */
  constructor(readonly capacity = 64 * 1024 * 1024) {}

  /** The shared copy of this digest's body, remembering the one given when there is none yet. */
  share(digest: string, body: Buffer): Buffer {
    const cached = this.entries.get(digest);
    if (cached) {
      // Map order is insertion order: re-inserting makes this the most recently used entry.
      this.entries.delete(digest);
      this.entries.set(digest, cached);
      return cached;
    }
    if (body.length > this.capacity / 4) return body;
    this.entries.set(digest, body);
    this.bytes += body.length;
    for (const [oldest, old] of this.entries) {
      if (this.bytes <= this.capacity) break;
      this.entries.delete(oldest);
      this.bytes -= old.length;
    }
    return body;
  }

  get size(): { entries: number; bytes: number } {
    return { entries: this.entries.size, bytes: this.bytes };
  }
}
