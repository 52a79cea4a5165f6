import type { ManifestRecord } from '../metadata/store.js';

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

/**
 * Answers of manifest lookups (repository + tag or digest), valid for one content version of the metadata store
 * (MetadataStore.contentVersion): any change there, by this process or another writer, empties it, so it never
 * answers what the store would not (a moved tag, a deleted manifest or repository). A GET of a popular manifest
 * then costs a version read instead of a join that copies the body out of the database. Authorization happens
 * before the service is asked, as for any read; the key includes the repository.
 */
export class ManifestLookupCache {
  private readonly entries = new Map<string, ManifestRecord>();
  private bytes = 0;
  private version: string | null = null;

  /**
   * @param capacity body bytes referenced, counted once per entry (bodies are shared by digest, so this
   * over-counts and never under-counts what the entries keep alive); the oldest entries go first.
   */
  constructor(
    readonly capacity = 64 * 1024 * 1024,
    readonly maxEntries = 10_000,
  ) {}

  /** The cached answer for key at this version; a newer version empties the cache. */
  get(version: string, key: string): ManifestRecord | undefined {
    if (version !== this.version) {
      this.entries.clear();
      this.bytes = 0;
      this.version = version;
      return undefined;
    }
    return this.entries.get(key);
  }

  /** Remembers an answer read after `version` was; dropped when the store has moved on since. */
  set(version: string, key: string, record: ManifestRecord): void {
    if (version !== this.version || record.body.length > this.capacity / 4 || this.entries.has(key)) return;
    this.entries.set(key, record);
    this.bytes += record.body.length;
    for (const [oldest, old] of this.entries) {
      if (this.bytes <= this.capacity && this.entries.size <= this.maxEntries) break;
      this.entries.delete(oldest);
      this.bytes -= old.body.length;
    }
  }

  get size(): { entries: number; bytes: number } {
    return { entries: this.entries.size, bytes: this.bytes };
  }
}
