import { Readable, type Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { destinationClosed, NotFoundError, OffsetMismatchError, type BlobDriver, type ByteRange, type StoredObject } from './driver.js';

interface Entry {
  data: Buffer;
  modifiedAt: number;
}

/** Keeps everything in memory: for fast tests and as the simplest reference implementation of the interface. */
export class MemoryDriver implements BlobDriver {
  readonly name = 'memory';
  private readonly objects = new Map<string, Entry>();
  private readonly uploads = new Map<string, Entry>();

  async stat(key: string): Promise<StoredObject | null> {
    const entry = this.objects.get(key);
    return entry ? { size: entry.data.length, modifiedAt: entry.modifiedAt } : null;
  }

  private bytes(key: string, range?: ByteRange): Buffer {
    const entry = this.objects.get(key);
    if (!entry) throw new NotFoundError(key);
    return range ? entry.data.subarray(range.start, range.end + 1) : entry.data;
  }

  async read(key: string, range?: ByteRange): Promise<Readable> {
    return Readable.from([this.bytes(key, range)]);
  }

  async send(key: string, range: ByteRange | undefined, destination: Writable, onOpen?: () => void): Promise<void> {
    const data = this.bytes(key, range);
    onOpen?.();
    if (destination.destroyed) throw destinationClosed();
    destination.end(data);
    await finished(destination);
  }

  async delete(key: string): Promise<boolean> {
    return this.objects.delete(key);
  }

  async *list(prefix: string): AsyncIterable<string> {
    for (const key of [...this.objects.keys()]) if (key.startsWith(prefix)) yield key;
  }

  async createUpload(uploadId: string): Promise<void> {
    this.uploads.set(uploadId, { data: Buffer.alloc(0), modifiedAt: Date.now() });
  }

  async uploadSize(uploadId: string): Promise<number | null> {
    return this.uploads.get(uploadId)?.data.length ?? null;
  }

  async appendUpload(uploadId: string, offset: number, source: Readable): Promise<number> {
    const entry = this.uploads.get(uploadId);
    if (!entry) throw new NotFoundError(uploadId);
    if (entry.data.length !== offset) throw new OffsetMismatchError(offset, entry.data.length);
    for await (const chunk of source) {
      entry.data = Buffer.concat([entry.data, chunk as Buffer]);
      entry.modifiedAt = Date.now();
    }
    return entry.data.length;
  }

  async readUpload(uploadId: string): Promise<Readable> {
    const entry = this.uploads.get(uploadId);
    if (!entry) throw new NotFoundError(uploadId);
    return Readable.from([entry.data]);
  }

  async commitUpload(uploadId: string, key: string): Promise<void> {
    const entry = this.uploads.get(uploadId);
    if (!entry) throw new NotFoundError(uploadId);
    this.uploads.delete(uploadId);
    if (!this.objects.has(key)) this.objects.set(key, { data: entry.data, modifiedAt: Date.now() });
  }

  async abortUpload(uploadId: string): Promise<void> {
    this.uploads.delete(uploadId);
  }

  async *listUploads(): AsyncIterable<{ id: string; modifiedAt: number }> {
    for (const [id, entry] of [...this.uploads]) yield { id, modifiedAt: entry.modifiedAt };
  }
}
