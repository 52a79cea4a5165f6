import type { Logger } from 'pino';
import type { MetadataStore } from '../metadata/store.js';
import type { BlobDriver } from '../storage/driver.js';

/** What fsck and the scrub need of a registry (a Registry has all of it). */
export interface FsckDeps {
  readonly driver: BlobDriver;
  readonly metadata: MetadataStore;
  readonly log?: Logger;
}

export const problemKinds = ['corrupt', 'missing', 'orphan', 'size-mismatch'] as const;
export type ProblemKind = (typeof problemKinds)[number];

export interface RepairOutcome {
  /**
   * quarantined: the bytes were copied under quarantine/ and deleted, and the record removed.
   * record-removed: the record was removed (there were no bytes, or the bytes are intact and the record was wrong).
   * linked: the blob is intact in the registry and was linked back to the repositories whose manifests need it.
   * left-alone: nothing to do here (an intact orphan, or a reference to a blob the registry does not have).
   * skipped: could not act now (the blob was busy, or the repair failed); run fsck again.
   */
  readonly action: 'quarantined' | 'record-removed' | 'linked' | 'left-alone' | 'skipped';
  readonly quarantineKey?: string;
  readonly detail: string;
}

export interface FsckProblem {
  readonly kind: ProblemKind;
  /** null for a file under blobs/ whose name is not a digest. */
  readonly digest: string | null;
  /** The recorded size; for a reference without a record the size the manifest declares; for an orphan the stored size. */
  readonly size: number | null;
  /** Whether the metadata store has a record of the blob. */
  readonly recorded: boolean;
  /** Where the bytes are (or should be) in storage. */
  readonly key: string | null;
  /** Stored size, when it differs from `size`. */
  readonly storedSize?: number;
  /** Digest of the stored bytes, when they were read and it differs from `digest`. */
  readonly actualDigest?: string;
  /** Every manifest the problem breaks, as repository@digest. */
  readonly manifests: readonly string[];
  readonly detail: string;
  /** With --repair: what was done about it. */
  readonly repair?: RepairOutcome;
}

export type FsckPhase = 'blobs' | 'storage' | 'references';

export interface FsckProgress {
  readonly phase: FsckPhase;
  /** Blob records checked so far, and how many there were when fsck started. */
  readonly blobs: number;
  readonly blobsTotal: number;
  /** Bytes read and hashed so far (blob records and orphans). */
  readonly bytes: number;
  /** Recorded sizes of the blobs checked so far, and of all blobs when fsck started (what the bar shows). */
  readonly bytesDone: number;
  readonly bytesTotal: number;
  /** Files listed under blobs/ (storage phase). */
  readonly files: number;
  /** Manifests whose references were checked (references phase). */
  readonly manifests: number;
  readonly elapsedMs: number;
}
