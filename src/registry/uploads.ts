import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { Logger } from 'pino';
import type { DigestAlgorithm, ParsedDigest } from '../oci/digest.js';
import { DigestHasher, hashStream, passing } from '../oci/digest-stream.js';
import { DomainError, unknownUpload } from '../oci/errors.js';
import { systemClock, type Clock } from '../fsck/throttle.js';
import type { BlobDriver } from '../storage/driver.js';
import { NotFoundError, OffsetMismatchError } from '../storage/driver.js';
import { blobKey } from '../storage/paths.js';
import type { BlobRecord, MetadataStore, UploadRecord } from '../metadata/store.js';
import { KeyedLock } from './keyed-lock.js';
import { asStorageFull, isStorageFull } from './storage-full.js';

export interface UploadStatus {
  readonly id: string;
  readonly size: number;
}

/** Called with each chunk's length before it is stored; throwing refuses the rest (quota enforcement). */
export type ByteMeter = (bytes: number) => void;

export interface SessionLimits {
  readonly total: number;
  readonly perRepository: number;
}

export interface ChunkRange {
  readonly start: number;
  readonly end: number; // inclusive
}

const leaseTtlMs = 60_000;

/**
 * Upload sessions. Bytes are hashed as they are staged, by the process that staged everything before them; a chunk
 * that lands on another process (or after a restart) is staged unhashed, and finish() then hashes the staged bytes
 * once. Resuming a hash elsewhere would need its internal state, which node:crypto does not export; reading the
 * bytes once at the end keeps a spread-out upload linear, where re-reading them for every chunk made it quadratic.
 */
export class UploadSessions {
  private readonly hashes = new Map<string, DigestHasher>();
  private readonly lock = new KeyedLock();

  constructor(
    private readonly driver: BlobDriver,
    private readonly metadata: MetadataStore,
    private readonly log: Logger,
    private readonly limits: SessionLimits = { total: Infinity, perRepository: Infinity },
    /** Time for leases, purge cutoffs and records: injected so tests never wait out real time. */
    private readonly clock: Clock = systemClock,
  ) {}

  async start(repository: string, algorithm: DigestAlgorithm): Promise<UploadStatus> {
    const id = randomUUID();
    // The record first: counting and inserting it is one transaction, so the caps hold under concurrent starts.
    const opened = await this.metadata.openUpload({ id, repository, algorithm }, this.limits).catch((err: unknown) => {
      throw asStorageFull(err);
    });
    if (opened !== 'opened') {
      const [limit, scope] = opened === 'total-limit' ? [this.limits.total, 'registry'] : [this.limits.perRepository, `repository ${repository}`];
      throw new DomainError('TooManyUploadSessions', `too many open upload sessions in the ${scope} (limit ${limit}); finish or cancel some, or retry later`, {
        limit,
      });
    }
    try {
      await this.driver.createUpload(id);
    } catch (err) {
      await this.metadata.deleteUpload(id).catch(() => undefined);
      throw asStorageFull(err);
    }
    this.hashes.set(id, new DigestHasher(algorithm));
    return { id, size: 0 };
  }

  private async session(repository: string, id: string): Promise<UploadRecord> {
    const record = await this.metadata.getUpload(id);
    if (!record || record.repository !== repository) throw unknownUpload(id);
    return record;
  }

  private async stagedSize(id: string): Promise<number> {
    const size = await this.driver.uploadSize(id);
    if (size === null) {
      await this.metadata.deleteUpload(id);
      this.hashes.delete(id);
      throw unknownUpload(id);
    }
    return size;
  }

  async status(repository: string, id: string): Promise<UploadStatus> {
    await this.session(repository, id);
    return { id, size: await this.stagedSize(id) };
  }

  /** The running hash of exactly the staged bytes when this process has one (a fresh session always has). */
  private heldHash(id: string, algorithm: DigestAlgorithm, size: number): DigestHasher | null {
    const held = this.hashes.get(id);
    if (held && held.size === size && held.algorithm === algorithm) return held;
    this.hashes.delete(id);
    return size === 0 ? new DigestHasher(algorithm) : null;
  }

  /** The staged bytes' digest: from the running hash, or by reading them once. */
  private async stagedDigest(id: string, algorithm: DigestAlgorithm, size: number): Promise<string> {
    const held = this.heldHash(id, algorithm, size);
    if (held) return held.digest();
    const read = await hashStream(await this.driver.readUpload(id), algorithm);
    if (read.size !== size) throw new Error(`upload ${id} changed while it was being hashed`);
    return read.digest;
  }

  private async appendLocked(id: string, algorithm: DigestAlgorithm, body: Readable, range?: ChunkRange, meter?: ByteMeter): Promise<number> {
    const size = await this.stagedSize(id);
    if (range && range.start !== size) {
      throw new DomainError('UploadOffsetMismatch', `chunk must start at offset ${size}`, { expected: size, got: range.start, uuid: id });
    }
    const hasher = this.heldHash(id, algorithm, size);
    const source = hasher ? hasher.through(body, meter) : passing(body, (chunk) => meter?.(chunk.length));
    try {
      const staged = await this.driver.appendUpload(id, size, source);
      if (hasher) this.hashes.set(id, hasher);
      return staged;
    } catch (err) {
      // Part of the chunk may be staged and hashed: the hash no longer matches what is staged, so finish() reads
      // the bytes instead; what is staged is recorded so the repository's usage counts it meanwhile.
      this.hashes.delete(id);
      await this.recordStagedSize(id);
      if (err instanceof OffsetMismatchError) {
        throw new DomainError('UploadOffsetMismatch', `chunk must start at offset ${err.actual}`, { expected: err.actual });
      }
      if (err instanceof NotFoundError) throw unknownUpload(id);
      throw asStorageFull(err);
    }
  }

  private async recordStagedSize(id: string): Promise<void> {
    try {
      const size = await this.driver.uploadSize(id);
      if (size !== null) await this.metadata.touchUpload(id, size);
    } catch {
      // best effort: the next chunk or the purge records or removes it anyway
    }
  }

  async append(repository: string, id: string, body: Readable, range?: ChunkRange, meter?: ByteMeter): Promise<UploadStatus> {
    const session = await this.session(repository, id);
    return this.lock.run(id, async () => {
      const size = await this.appendLocked(id, session.algorithm as DigestAlgorithm, body, range, meter);
      // The staged size is recorded so the session counts toward its repository's quota, here and after a restart.
      await this.metadata.touchUpload(id, size).catch((err: unknown) => {
        throw asStorageFull(err);
      });
      return { id, size };
    });
  }

  /** Appends the optional last chunk, verifies the digest, and makes the blob visible. */
  async finish(repository: string, id: string, digest: ParsedDigest, body: Readable | null, range?: ChunkRange, meter?: ByteMeter): Promise<BlobRecord> {
    await this.session(repository, id);
    return this.lock.run(id, async () => {
      const size = body ? await this.appendLocked(id, digest.algorithm, body, range, meter) : await this.stagedSize(id);
      const canonical = `${digest.algorithm}:${digest.hex}`;
      const actual = await this.stagedDigest(id, digest.algorithm, size);
      if (actual !== canonical) {
        await this.cancelLocked(id);
        throw new DomainError('DigestInvalid', 'uploaded content does not match the digest', { expected: canonical, actual });
      }
      // The lease keeps garbage collection from deleting these bytes between the two steps below (it would
      // otherwise find an existing file, let the driver drop ours as a duplicate, then delete its own).
      const owner = `upload-${id}`;
      await this.leaseDigest(canonical, owner);
      try {
        // Bytes first, then the metadata that makes them visible: a crash in between leaves an unreferenced file
        // (reported by `wharf fsck` as an orphan), never a visible blob without bytes.
        await this.driver.commitUpload(id, blobKey(digest)).catch((err: unknown) => {
          throw asStorageFull(err);
        });
        await this.metadata.commitBlob(repository, { digest: canonical, size }, id).catch(async (err: unknown) => {
          if (isStorageFull(err)) await this.forgetUnrecorded(id, digest, canonical);
          throw asStorageFull(err);
        });
      } finally {
        await this.metadata.releaseBlobLease(canonical, owner);
      }
      this.hashes.delete(id);
      return { digest: canonical, size, createdAt: this.clock.now() };
    });
  }

  /**
   * The database could not record a blob whose bytes are already in place: delete those bytes unless an earlier
   * push recorded the same blob (we hold its lease, so GC is not deleting it meanwhile), and end the session.
   */
  private async forgetUnrecorded(id: string, digest: ParsedDigest, canonical: string): Promise<void> {
    try {
      if (!(await this.metadata.getBlob(canonical))) await this.driver.delete(blobKey(digest));
    } catch (err) {
      this.log.error({ err, digest: canonical }, 'could not remove the bytes of a blob the database failed to record; `wharf fsck` will report them as an orphan');
    }
    await this.cancelLocked(id).catch(() => undefined);
  }

  private async leaseDigest(digest: string, owner: string): Promise<void> {
    // GC holds a digest for one delete (milliseconds); waiting out a crashed holder's lease takes at most its TTL.
    const deadline = this.clock.now() + leaseTtlMs + 1000;
    while (!(await this.metadata.acquireBlobLease(digest, owner, leaseTtlMs))) {
      if (this.clock.now() > deadline) throw new DomainError('BlobBusy', 'blob is being garbage collected; retry', { digest });
      await this.clock.sleep(20);
    }
  }

  /** A whole blob in one request (POST ?digest= or PUT without prior PATCH). */
  async monolithic(repository: string, digest: ParsedDigest, body: Readable, meter?: ByteMeter): Promise<BlobRecord> {
    const { id } = await this.start(repository, digest.algorithm);
    try {
      return await this.finish(repository, id, digest, body, undefined, meter);
    } catch (err) {
      await this.cancel(repository, id).catch(() => undefined);
      throw err;
    }
  }

  private async cancelLocked(id: string): Promise<void> {
    this.hashes.delete(id);
    await this.driver.abortUpload(id);
    await this.metadata.deleteUpload(id);
  }

  async cancel(repository: string, id: string): Promise<void> {
    await this.session(repository, id);
    await this.lock.run(id, () => this.cancelLocked(id));
  }

  /**
   * Removes sessions idle for longer than maxAge, sessions that never staged a byte once idle for emptyMaxAge,
   * and staged files no session knows (left by a crash).
   */
  async purgeStale(maxAgeMs: number, emptyMaxAgeMs = maxAgeMs, now = this.clock.now()): Promise<number> {
    const cutoff = now - maxAgeMs;
    let purged = 0;
    for (const [before, emptyOnly] of [[cutoff, false], [now - emptyMaxAgeMs, true]] as const) {
      for (;;) {
        const stale = await this.metadata.listUploadsUpdatedBefore(before, 500, emptyOnly);
        for (const upload of stale) {
          const cancelled = await this.lock.run(upload.id, async () => {
            // It may have received a chunk since it was listed.
            const current = await this.metadata.getUpload(upload.id);
            if (current && current.updatedAt >= before) return false;
            await this.cancelLocked(upload.id);
            return true;
          });
          if (cancelled) purged++;
        }
        if (stale.length < 500) break;
      }
    }
    for await (const staged of this.driver.listUploads()) {
      if (staged.modifiedAt < cutoff && !(await this.metadata.getUpload(staged.id))) {
        await this.driver.abortUpload(staged.id);
        purged++;
      }
    }
    if (purged > 0) this.log.info({ purged }, 'purged abandoned upload sessions');
    return purged;
  }
}
