import type { Writable } from 'node:stream';
import type { Logger } from 'pino';
import type { EventOrigin } from '../events/event.js';
import type { EventRecorder } from '../events/recorder.js';
import type { BlobRecord, MetadataStore } from '../metadata/store.js';
import { requireDigest } from '../oci/digest.js';
import { requireName } from '../oci/names.js';
import type { Quotas } from '../quota/quotas.js';
import { NotFoundError, type BlobDriver, type ByteRange } from '../storage/driver.js';
import { blobKey } from '../storage/paths.js';
import { blobUnknown } from '../oci/errors.js';
import { withQuota } from './quota-scope.js';
import type { Blobs, MountSource } from './services.js';

const octetStream = 'application/octet-stream';

/** Blobs as a repository holds them: metadata says which it links, the driver holds the bytes. */
export class BlobService implements Blobs {
  constructor(
    private readonly driver: BlobDriver,
    private readonly metadata: MetadataStore,
    private readonly events: EventRecorder,
    private readonly quotas: Quotas,
    private readonly log: Logger,
  ) {}

  async stat(repository: string, digest: string): Promise<BlobRecord> {
    requireDigest(digest);
    const blob = await this.metadata.getRepositoryBlob(repository, digest);
    if (!blob) throw blobUnknown(digest);
    return blob;
  }

  async serve(repository: string, blob: BlobRecord, range: ByteRange | undefined, destination: Writable, onOpen: () => void): Promise<void> {
    let opened = false;
    const open = (): void => {
      opened = true;
      onOpen();
    };
    try {
      await this.driver.send(blobKey(requireDigest(blob.digest)), range, destination, open);
    } catch (err) {
      if (!(err instanceof NotFoundError) || opened) throw err;
      this.log.error({ repository, digest: blob.digest }, 'blob recorded in metadata but missing from storage');
      throw blobUnknown(blob.digest);
    }
  }

  async redirect(blob: BlobRecord): Promise<string | null> {
    return (await this.driver.redirectUrl?.(blobKey(requireDigest(blob.digest)))) ?? null;
  }

  async mount(repository: string, digest: string, source: MountSource, origin?: EventOrigin): Promise<boolean> {
    requireDigest(digest);
    const { from } = source;
    if (from !== null) requireName(from);
    if (!source.mayRead(from)) return false;
    if (from !== null && !(await this.metadata.getRepositoryBlob(from, digest))) return false;
    const blob = await this.metadata.getBlob(digest);
    if (!blob) return false;
    const events = this.events.events('mount', { repository, digest, mediaType: octetStream }, origin);
    if (await this.metadata.getRepositoryBlob(repository, digest)) return this.metadata.linkBlob(repository, digest, events);
    return withQuota(this.quotas, repository, async (quota) => {
      quota.expect(blob.size);
      const linked = await this.metadata.linkBlob(repository, digest, events);
      if (linked) quota.keep(blob.size);
      return linked;
    });
  }

  async delete(repository: string, digest: string, origin?: EventOrigin): Promise<void> {
    requireDigest(digest);
    const events = this.events.events('delete', { repository, digest, mediaType: octetStream }, origin);
    if (!(await this.metadata.unlinkBlob(repository, digest, events))) throw blobUnknown(digest);
  }
}
