// What the HTTP API may ask of the registry. Handlers hold these interfaces, never a service class, the metadata
// store or the blob driver; so a decorator (a pull-through cache, a mirror) can stand in for the blob and manifest
// services by wrapping them (see Registry's `decorate` option).
import type { Readable, Writable } from 'node:stream';
import type { EventOrigin } from '../events/event.js';
import type { BlobRecord, ManifestRecord, Page, RepositoryUsage } from '../metadata/store.js';
import type { DigestAlgorithm, ParsedDigest } from '../oci/digest.js';
import type { ByteRange } from '../storage/driver.js';
import type { PushedManifest, Reference } from './manifests.js';
import type { ChunkRange, UploadStatus } from './uploads.js';

export type { BlobRecord, ByteRange, ChunkRange, ManifestRecord, Page, PushedManifest, Reference, UploadStatus };

/** Reading blobs: what a pull-through cache wraps. */
export interface BlobReader {
  /** The blob as the repository holds it; BlobUnknown when it does not (DigestInvalid for a malformed digest). */
  stat(repository: string, digest: string): Promise<BlobRecord>;
  /**
   * Streams the blob (or the range) to destination and ends it; `onOpen` runs once the bytes are there, before the
   * first is written (to send headers). BlobUnknown, before `onOpen`, when the bytes are missing.
   */
  serve(repository: string, blob: BlobRecord, range: ByteRange | undefined, destination: Writable, onOpen: () => void): Promise<void>;
  /** A URL to send the client to for the bytes instead of serving them (storage.s3.redirect), or null. */
  redirect?(blob: BlobRecord): Promise<string | null>;
}

/** Where a cross-repository mount may take a blob from. */
export interface MountSource {
  /** The repository named by the client, or null for whichever holds the blob. */
  readonly from: string | null;
  /** Whether the caller may take blobs from that repository, or (null) from any that holds the blob: the API's policy. */
  readonly mayRead: (repository: string | null) => boolean;
}

export interface BlobWriter {
  /** Links a blob the registry holds into the repository; false when the source does not allow it (then upload). */
  mount(repository: string, digest: string, source: MountSource, origin?: EventOrigin): Promise<boolean>;
  delete(repository: string, digest: string, origin?: EventOrigin): Promise<void>;
}

export type Blobs = BlobReader & BlobWriter;

/** Reading manifests: what a pull-through cache wraps. */
export interface ManifestReader {
  get(repository: string, reference: Reference): Promise<ManifestRecord>;
  /** After a manifest was served: its pull time (for retention), and a pull event when someone subscribes. */
  recordPull(record: ManifestRecord, reference: Reference, origin: EventOrigin): Promise<void>;
  referrers(repository: string, subject: string, artifactType?: string): Promise<object>;
}

export interface ManifestWriter {
  push(repository: string, reference: Reference, body: Buffer, contentType: string | undefined, extraTags: readonly string[], origin?: EventOrigin): Promise<PushedManifest>;
  delete(repository: string, reference: Reference, origin?: EventOrigin): Promise<void>;
}

export type Manifests = ManifestReader & ManifestWriter;

/** A request's bytes for an upload, with the length it declared (0 when unknown) so a quota can refuse at once. */
export interface Chunk {
  readonly body: Readable;
  readonly range?: ChunkRange;
  readonly declaredLength: number;
}

/** Upload sessions as clients drive them, with repository quotas enforced on the bytes as they arrive. */
export interface Uploads {
  start(repository: string, algorithm: DigestAlgorithm): Promise<UploadStatus>;
  status(repository: string, id: string): Promise<UploadStatus>;
  append(repository: string, id: string, chunk: Chunk): Promise<UploadStatus>;
  finish(repository: string, id: string, digest: ParsedDigest, chunk: Chunk | null): Promise<BlobRecord>;
  /** A whole blob in one request (POST ?digest=). */
  monolithic(repository: string, digest: ParsedDigest, chunk: Chunk): Promise<BlobRecord>;
  cancel(repository: string, id: string): Promise<void>;
}

export interface Tags {
  /** Tag names after page.last, at most page.limit; NameUnknown for a repository the registry does not know. */
  list(repository: string, page: Page): Promise<string[]>;
}

export interface CatalogScan {
  /** Visible names found, at most limit + 1 (one more shows there is a next page). */
  readonly names: string[];
  /** The last name examined, visible or not. */
  readonly last: string | undefined;
  /** True when the listing reached its end. */
  readonly exhausted: boolean;
}

export type UsageWithQuota = RepositoryUsage & { readonly quota: number | null };

export interface Repositories {
  /**
   * Reads repository names after `after` until limit + 1 of them are visible, the listing ends, or `budget` names
   * were examined: a caller who may see few repositories must not make one request scan them all.
   */
  scan(after: string | undefined, limit: number, budget: number, visible: (name: string) => boolean): Promise<CatalogScan>;
  /** NameUnknown for a repository the registry does not know. */
  usage(repository: string): Promise<UsageWithQuota>;
  listUsage(page: Page): Promise<UsageWithQuota[]>;
  delete(repository: string, origin?: EventOrigin): Promise<void>;
}

export interface RegistryServices {
  readonly blobs: Blobs;
  readonly manifests: Manifests;
  readonly uploads: Uploads;
  readonly tags: Tags;
  readonly repositories: Repositories;
}

/** Wraps services (all or some) before the API gets them: how a pull-through cache plugs in. */
export type ServiceDecorator = (services: RegistryServices) => RegistryServices;
