// The metadata store: everything about content except its bytes. Async so that a networked store (PostgreSQL) fits
// behind the same interface; every multi-row change is one transaction, which is what later online GC and
// several nodes rely on.

export interface BlobRecord {
  readonly digest: string;
  readonly size: number;
  readonly createdAt: number;
}

export interface ManifestRecord {
  readonly repository: string;
  readonly digest: string;
  readonly mediaType: string;
  readonly size: number;
  readonly body: Buffer;
  readonly artifactType: string | null;
  readonly subject: string | null;
  readonly createdAt: number;
}

export interface ReferrerRecord {
  readonly digest: string;
  readonly mediaType: string;
  readonly size: number;
  readonly artifactType: string | null;
  readonly annotations: Record<string, string> | null;
}

export interface ManifestWrite {
  readonly repository: string;
  readonly digest: string;
  readonly mediaType: string;
  readonly body: Buffer;
  readonly artifactType: string | null;
  readonly subject: string | null;
  readonly annotations: Record<string, string> | null;
  /** Blobs (config, layers) that must already be linked to the repository. */
  readonly blobs: readonly string[];
  /** Child manifests (of an index) that must already exist in the repository. */
  readonly manifests: readonly string[];
  readonly tags: readonly string[];
}

export type ManifestWriteResult =
  | { readonly ok: true }
  | { readonly ok: false; readonly missingBlob?: string; readonly missingManifest?: string };

export interface UploadRecord {
  readonly id: string;
  readonly repository: string;
  readonly algorithm: string;
  readonly createdAt: number;
  readonly updatedAt: number;
}

export interface Page {
  /** Exclusive lower bound in lexical order. */
  readonly last?: string;
  readonly limit: number;
}

export type ManifestReference = { readonly tag: string } | { readonly digest: string };

export interface PullRecord {
  readonly repository: string;
  readonly digest: string;
  readonly tag: string | null;
  readonly at: number;
}

export interface MetadataStore {
  readonly name: string;
  close(): Promise<void>;
  /** A trivial round trip, for readiness checks. */
  ping(): Promise<void>;

  // Blobs
  getBlob(digest: string): Promise<BlobRecord | null>;
  getRepositoryBlob(repository: string, digest: string): Promise<BlobRecord | null>;
  /** Records a verified blob, links it to the repository and ends the upload session, in one transaction. */
  commitBlob(repository: string, blob: { digest: string; size: number }, uploadId?: string): Promise<void>;
  /** Links an existing blob (cross-repository mount); false when the blob is unknown. */
  linkBlob(repository: string, digest: string): Promise<boolean>;
  unlinkBlob(repository: string, digest: string): Promise<boolean>;

  // Manifests and tags
  putManifest(manifest: ManifestWrite): Promise<ManifestWriteResult>;
  getManifest(repository: string, reference: ManifestReference): Promise<ManifestRecord | null>;
  /** Removes the manifest and every tag pointing at it. */
  deleteManifest(repository: string, digest: string): Promise<boolean>;
  deleteTag(repository: string, tag: string): Promise<boolean>;
  /** null when the repository does not exist. */
  listTags(repository: string, page: Page): Promise<string[] | null>;
  listRepositories(page: Page): Promise<string[]>;
  listReferrers(repository: string, subject: string, artifactType?: string): Promise<ReferrerRecord[]>;
  recordPulls(pulls: readonly PullRecord[]): Promise<void>;

  // Upload sessions
  createUpload(upload: { id: string; repository: string; algorithm: string }): Promise<void>;
  getUpload(id: string): Promise<UploadRecord | null>;
  touchUpload(id: string): Promise<void>;
  deleteUpload(id: string): Promise<void>;
  listUploadsUpdatedBefore(time: number, limit: number): Promise<UploadRecord[]>;
  countUploads(): Promise<number>;
}
