import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { BlobRecord } from '../metadata/store.js';
import { parseDigest, type DigestAlgorithm, type ParsedDigest } from '../oci/digest.js';
import { DigestHasher, hashStream, type StreamDigest } from '../oci/digest-stream.js';
import { parseManifest } from '../oci/manifest.js';
import { NotFoundError } from '../storage/driver.js';
import { blobKey, digestFromBlobKey } from '../storage/paths.js';
import { systemClock, type Clock, type Throttle } from './throttle.js';
import type { FsckDeps, FsckProblem, RepairOutcome } from './types.js';

export interface CheckerOptions {
  /** Quarantine corrupt bytes and forget records without bytes (never set by the scrub). */
  readonly repair: boolean;
  /** Paces every byte read for checking (not the quarantine copies a repair makes). */
  readonly throttle: Throttle;
  readonly clock?: Clock;
  readonly signal?: AbortSignal;
  /** Called for every chunk read while checking. */
  readonly onBytes?: (bytes: number) => void;
  /** How long a repair waits for an upload or GC to release a blob before skipping it. */
  readonly leaseWaitMs?: number;
}

export const quarantinePrefix = 'quarantine/';

/** quarantine/<alg>/<hex>-<UTC timestamp>: every quarantined copy is kept, even of the same digest. */
export function quarantineKey(digest: ParsedDigest, at: Date): string {
  return `${quarantinePrefix}${digest.algorithm}/${digest.hex}-${at.toISOString().replace(/[-:.]/g, '')}`;
}

/** Blob digests a manifest references (config, layers, non-manifest entries of an index) and the sizes it declares. */
export function blobReferences(body: Buffer, mediaType: string): Map<string, number | null> {
  const parsed = parseManifest(body, mediaType);
  const sizes = new Map<string, number>();
  const doc = JSON.parse(body.toString('utf8')) as { config?: unknown; layers?: unknown; manifests?: unknown };
  const descriptors = [doc.config, ...(Array.isArray(doc.layers) ? doc.layers : []), ...(Array.isArray(doc.manifests) ? doc.manifests : [])];
  for (const d of descriptors as { digest?: unknown; size?: unknown }[]) {
    if (d && typeof d.digest === 'string' && typeof d.size === 'number') sizes.set(d.digest, d.size);
  }
  return new Map(parsed.blobs.map((digest) => [digest, sizes.get(digest) ?? null]));
}

type Hashed = (StreamDigest & { readonly error?: undefined }) | { readonly error: Error };

/** A manifest found referencing a blob its repository cannot serve, gathered during the references walk. */
interface Unservable {
  size: number | null;
  readonly manifests: Map<string, { repository: string; digest: string }>;
}

/**
 * The checks fsck and the scrub share. Findings are confirmed before they are reported, because the registry keeps
 * serving meanwhile: GC deletes a record and then its bytes, an upload writes bytes and then the record, so a blob
 * seen in between is re-read rather than reported. Repairs happen under the digest's lease, which uploads and GC
 * take too, and re-verify what they act on.
 */
export class BlobChecker {
  private readonly owner = `fsck-${randomUUID()}`;
  private readonly clock: Clock;
  /** Digests already reported in this run (a repaired record must not be reported again as a missing reference). */
  readonly reported = new Set<string>();
  private readonly unservable = new Map<string, Unservable>();

  constructor(
    private readonly deps: FsckDeps,
    private readonly options: CheckerOptions,
  ) {
    this.clock = options.clock ?? systemClock;
  }

  /** Presence, size and digest of one recorded blob; null when it is sound or went away while being checked (GC). */
  async checkRecord(record: BlobRecord): Promise<FsckProblem | null> {
    const { metadata } = this.deps;
    const parsed = parseDigest(record.digest);
    if (!parsed) {
      return this.report(
        { kind: 'corrupt', digest: record.digest, size: record.size, recorded: true, key: null, manifests: await this.referencing(record.digest), detail: 'the record holds a malformed digest' },
        () => this.underLease(record.digest, record.size, () => this.removeRecord(record.digest, 'malformed record removed')),
      );
    }
    const key = blobKey(parsed);
    const hashed = (await this.deps.driver.stat(key)) ? await this.hash(key, parsed.algorithm) : null;
    if (!hashed) {
      // Bytes are written before their record and deleted after it: absent bytes with a record still there, and
      // still absent after that, are missing (and not a GC deletion or a push caught half way).
      if (!(await metadata.getBlob(record.digest)) || (await this.deps.driver.stat(key))) return null;
      return this.report(
        { kind: 'missing', digest: record.digest, size: record.size, recorded: true, key, manifests: await this.referencing(record.digest), detail: 'recorded, but its bytes are not in storage' },
        () => this.repairMissing(parsed, record.size),
      );
    }
    if (hashed.error) {
      if (!(await metadata.getBlob(record.digest))) return null;
      // Not repaired: a storage error may be passing (a network, a full table of open files), and the bytes fine.
      return this.report(
        { kind: 'corrupt', digest: record.digest, size: record.size, recorded: true, key, manifests: await this.referencing(record.digest), detail: `its bytes cannot be read: ${hashed.error.message}` },
        async () => ({ action: 'skipped', detail: 'unreadable, so not quarantined: check the storage, then run fsck again' }),
      );
    }
    if (hashed.digest === record.digest && hashed.size === record.size) return null;
    if (!(await metadata.getBlob(record.digest))) return null; // collected while we read it
    const intact = hashed.digest === record.digest;
    const sizeWrong = hashed.size !== record.size;
    const detail = !sizeWrong
      ? 'its bytes do not match the digest'
      : intact
        ? `recorded as ${record.size} bytes, stored ${hashed.size} bytes that do match the digest (the record is wrong)`
        : `recorded as ${record.size} bytes, stored ${hashed.size} bytes${hashed.size < record.size ? ' (truncated)' : ''}`;
    return this.report(
      {
        kind: sizeWrong ? 'size-mismatch' : 'corrupt',
        digest: record.digest,
        size: record.size,
        recorded: true,
        key,
        ...(sizeWrong ? { storedSize: hashed.size } : {}),
        ...(intact ? {} : { actualDigest: hashed.digest }),
        manifests: await this.referencing(record.digest),
        detail,
      },
      () => this.repairBytes(parsed, record.size),
    );
  }

  /** A file under blobs/: nothing when the registry has a record of it, else an orphan (whose bytes are verified). */
  async checkStoredFile(key: string): Promise<FsckProblem | null> {
    const { metadata, driver } = this.deps;
    const digest = digestFromBlobKey(key);
    if (!digest) {
      const stat = await driver.stat(key);
      if (!stat) return null;
      return this.report(
        { kind: 'orphan', digest: null, size: stat.size, recorded: false, key, manifests: [], detail: 'a file under blobs/ that is not named after a digest' },
        async () => ({ action: 'left-alone', detail: 'not a blob: left alone' }),
      );
    }
    if (this.reported.has(digest) || (await metadata.getBlob(digest))) return null;
    const parsed = parseDigest(digest)!;
    const hashed = await this.hash(key, parsed.algorithm);
    if (!hashed) return null; // deleted meanwhile
    if (hashed.error) {
      return this.report(
        { kind: 'orphan', digest, size: null, recorded: false, key, manifests: [], detail: `stored without a record, and its bytes cannot be read: ${hashed.error.message}` },
        async () => ({ action: 'left-alone', detail: 'unreadable: left alone' }),
      );
    }
    const record = await metadata.getBlob(digest);
    const intact = hashed.digest === digest;
    if (record) {
      // A push committed while we read: its record now points at these bytes, which the blob phase did not see.
      if (intact && record.size === hashed.size) return null;
      return this.report(
        { kind: 'corrupt', digest, size: record.size, recorded: true, key, actualDigest: hashed.digest, manifests: await this.referencing(digest), detail: 'its bytes do not match the digest' },
        () => this.repairBytes(parsed, record.size),
      );
    }
    if (intact) {
      return this.report(
        { kind: 'orphan', digest, size: hashed.size, recorded: false, key, manifests: [], detail: 'stored, but the registry has no record of it' },
        async () => ({ action: 'left-alone', detail: 'intact bytes with no record: left alone (a push of this digest adopts them)' }),
      );
    }
    return this.report(
      {
        kind: 'orphan',
        digest,
        size: hashed.size,
        recorded: false,
        key,
        actualDigest: hashed.digest,
        manifests: [],
        detail: 'stored without a record, and its bytes do not match the digest (a push of this digest would adopt them)',
      },
      // Not GC's business: these bytes are wrong, and left in place they would be served after the next push.
      () => this.repairBytes(parsed, null),
    );
  }

  /**
   * Notes the blobs a manifest references that its repository cannot serve (no record, or not linked to the
   * repository); finishReferences confirms and reports them once every manifest has been seen.
   */
  async checkManifest(repository: string, digest: string): Promise<void> {
    const manifest = await this.deps.metadata.getManifest(repository, { digest });
    if (!manifest) return;
    await this.options.throttle.take(manifest.size, this.options.signal);
    let references: Map<string, number | null>;
    try {
      references = blobReferences(manifest.body, manifest.mediaType);
    } catch (err) {
      this.deps.log?.warn({ repository, digest, err }, 'fsck: cannot parse a stored manifest; its references are not checked');
      return;
    }
    for (const [blob, size] of references) {
      if (this.reported.has(blob)) continue;
      if (await this.deps.metadata.getRepositoryBlob(repository, blob)) continue;
      let entry = this.unservable.get(blob);
      if (!entry) this.unservable.set(blob, (entry = { size, manifests: new Map() }));
      entry.size ??= size;
      entry.manifests.set(`${repository}@${digest}`, { repository, digest });
    }
  }

  /** Reports what checkManifest gathered, re-checked now (a manifest deleted or a blob pushed meanwhile is fine). */
  async finishReferences(): Promise<FsckProblem[]> {
    const { metadata } = this.deps;
    const problems: FsckProblem[] = [];
    for (const [digest, entry] of this.unservable) {
      const broken: { repository: string; digest: string }[] = [];
      for (const m of entry.manifests.values()) {
        if ((await metadata.getManifest(m.repository, { digest: m.digest })) && !(await metadata.getRepositoryBlob(m.repository, digest))) broken.push(m);
      }
      if (broken.length === 0) continue;
      const record = await metadata.getBlob(digest);
      const parsed = parseDigest(digest);
      const repositories = [...new Set(broken.map((m) => m.repository))];
      problems.push(
        await this.report(
          {
            kind: 'missing',
            digest,
            size: record?.size ?? entry.size,
            recorded: record !== null,
            key: parsed ? blobKey(parsed) : null,
            manifests: broken.map((m) => `${m.repository}@${m.digest}`),
            detail: record
              ? `referenced by manifests in ${repositories.join(', ')}, where it is not linked`
              : 'referenced by manifests, but the registry has no copy',
          },
          () => (record ? this.relink(digest, repositories) : Promise.resolve({ action: 'left-alone', detail: 'nothing to restore it from: push the blob again (or delete the manifests)' })),
        ),
      );
    }
    this.unservable.clear();
    return problems;
  }

  private async report(problem: FsckProblem, repair: () => Promise<RepairOutcome>): Promise<FsckProblem> {
    if (problem.digest) this.reported.add(problem.digest);
    if (!this.options.repair) return problem;
    let outcome: RepairOutcome;
    try {
      outcome = await repair();
    } catch (err) {
      this.deps.log?.error({ err, digest: problem.digest }, 'fsck: repair failed');
      outcome = { action: 'skipped', detail: `repair failed: ${(err as Error).message}` };
    }
    return { ...problem, repair: outcome };
  }

  private async referencing(digest: string): Promise<string[]> {
    return (await this.deps.metadata.manifestsReferencing(digest)).map((m) => `${m.repository}@${m.digest}`);
  }

  /** Reads and hashes stored bytes at the throttle's pace; null when they are not there, the error when unreadable. */
  private async hash(key: string, algorithm: DigestAlgorithm): Promise<Hashed | null> {
    const { signal } = this.options;
    try {
      return await hashStream(await this.deps.driver.read(key), algorithm, (chunk) => {
        this.options.onBytes?.(chunk.length);
        return this.options.throttle.take(chunk.length, signal);
      });
    } catch (err) {
      if (signal?.aborted) throw err;
      if (err instanceof NotFoundError) return null;
      return { error: err as Error };
    }
  }

  private async underLease(digest: string, size: number, action: () => Promise<RepairOutcome>): Promise<RepairOutcome> {
    const { metadata } = this.deps;
    // Long enough to copy the blob to quarantine at a slow 10 MiB/s: an expired lease would let a push of the
    // same digest adopt the bad bytes just before we delete them.
    const ttl = 60_000 + Math.ceil(size / (10 * 1024 * 1024)) * 1000;
    const deadline = this.clock.now() + (this.options.leaseWaitMs ?? 5000);
    while (!(await metadata.acquireBlobLease(digest, this.owner, ttl))) {
      if (this.clock.now() >= deadline) return { action: 'skipped', detail: 'busy (an upload or GC holds it): run fsck again' };
      await this.clock.sleep(50);
    }
    try {
      return await action();
    } finally {
      await metadata.releaseBlobLease(digest, this.owner);
    }
  }

  private async removeRecord(digest: string, detail: string): Promise<RepairOutcome> {
    await this.deps.metadata.removeBlobRecord(digest);
    return { action: 'record-removed', detail };
  }

  private repairMissing(digest: ParsedDigest, size: number): Promise<RepairOutcome> {
    const canonical = `${digest.algorithm}:${digest.hex}`;
    return this.underLease(canonical, size, async () => {
      if (!(await this.deps.metadata.getBlob(canonical))) return { action: 'left-alone', detail: 'the record went away meanwhile' };
      if (await this.deps.driver.stat(blobKey(digest))) return { action: 'skipped', detail: 'its bytes are back: run fsck again' };
      return this.removeRecord(canonical, 'record removed: clients get BLOB_UNKNOWN until the blob is pushed again');
    });
  }

  /**
   * Copies the bytes to quarantine (hashing them on the way, to act on what is stored now), deletes them, and
   * removes the record: bytes first, so that a crash leaves a record without bytes (which the next fsck repairs),
   * never wrong bytes that a push of the same digest would adopt. `recordedSize` null: an orphan.
   */
  private repairBytes(digest: ParsedDigest, recordedSize: number | null): Promise<RepairOutcome> {
    const canonical = `${digest.algorithm}:${digest.hex}`;
    const key = blobKey(digest);
    const { driver, metadata } = this.deps;
    return this.underLease(canonical, recordedSize ?? 0, async () => {
      const record = await metadata.getBlob(canonical);
      const uploadId = `fsck-${randomUUID()}`;
      await driver.createUpload(uploadId);
      let committed = false;
      try {
        let source: Readable;
        try {
          source = await driver.read(key);
        } catch (err) {
          if (err instanceof NotFoundError) return { action: 'skipped', detail: 'its bytes went away meanwhile: run fsck again' };
          throw err;
        }
        const hasher = new DigestHasher(digest.algorithm);
        try {
          await driver.appendUpload(uploadId, 0, hasher.through(source));
        } finally {
          source.destroy(); // read to its end, or left half-read by a failed copy
        }
        const intact = hasher.digest() === canonical;
        if (intact && (!record || record.size === hasher.size)) return { action: 'skipped', detail: 'its bytes verify now: nothing done' };
        if (intact) {
          // The bytes are right and the record is wrong: forget the record, keep the bytes for a push to adopt.
          return this.removeRecord(canonical, `record removed (its size was wrong); the intact bytes stay, and a push of the blob re-records them`);
        }
        const target = quarantineKey(digest, new Date(this.clock.now()));
        await driver.commitUpload(uploadId, target);
        committed = true;
        await driver.delete(key);
        if (record) await metadata.removeBlobRecord(canonical);
        return {
          action: 'quarantined',
          quarantineKey: target,
          detail: record ? `moved to ${target}; clients get BLOB_UNKNOWN until the blob is pushed again` : `moved to ${target}`,
        };
      } finally {
        if (!committed) await driver.abortUpload(uploadId);
      }
    });
  }

  /** The blob is in the registry but not linked where manifests need it (e.g. pushed again into another repository). */
  private relink(digest: string, repositories: readonly string[]): Promise<RepairOutcome> {
    return this.underLease(digest, 0, async () => {
      const linked: string[] = [];
      for (const repository of repositories) if (await this.deps.metadata.linkBlob(repository, digest)) linked.push(repository);
      if (linked.length === 0) return { action: 'skipped', detail: 'the blob went away meanwhile: run fsck again' };
      return { action: 'linked', detail: `linked to ${linked.join(', ')} (its bytes were verified by this run)` };
    });
  }
}
