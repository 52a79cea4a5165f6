// What the conformance suite's parts share: fixtures, digests, and a way to let the store's own clock move on.
import type { ManifestWrite, MetadataStore, OutboxEvent } from '../../../../src/metadata/store.js';

export interface StoreFixture {
  store: MetadataStore;
  cleanup(): Promise<void>;
  /**
   * A second store on the same database, as another node (or process) opens it; closed by the caller. Absent
   * where the database cannot be shared (in memory): the cluster cases then use the one store as both nodes.
   */
  openPeer?(): Promise<MetadataStore>;
}

/** The store under test, fresh for each test (set by the suite's beforeEach). */
export type CurrentStore = () => MetadataStore;

export const d = (n: number): string => `sha256:${n.toString(16).padStart(64, '0')}`;

/** Far enough ahead that every queued review is due, however the store schedules deferrals. */
export const later = (): number => Date.now() + 24 * 3600_000;

export function manifest(repository: string, digest: string, extra: Partial<ManifestWrite> = {}): ManifestWrite {
  return {
    repository,
    digest,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    body: Buffer.from(`{"m":"${digest}"}`),
    artifactType: null,
    subject: null,
    annotations: null,
    blobs: [],
    manifests: [],
    tags: [],
    ...extra,
  };
}

export const ev = (repository: string, n: number, endpoints: string[] = ['hook']): OutboxEvent => ({ repository, payload: `{"n":${n}}`, endpoints });

/**
 * Resolves once Date.now() is past `time`. The store stamps rows with its own clock and takes no injected one, so
 * "younger than" and "expired" need the real clock to have moved on; this waits for that, never for a fixed time.
 */
export async function clockPast(time: number): Promise<void> {
  while (Date.now() <= time) await new Promise((r) => setTimeout(r, 1));
}
