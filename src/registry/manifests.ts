import { digestOf, parseDigest } from '../oci/digest.js';
import { DomainError } from '../oci/errors.js';
import { parseManifest, type RequiredContent } from '../oci/manifest.js';
import { mediaTypes } from '../oci/media-types.js';
import { requireTag } from '../oci/names.js';
import type { ManifestRecord, MetadataStore, OutboxEvent, ReferrerRecord } from '../metadata/store.js';
import type { EventOrigin } from '../events/event.js';
import type { EventRecorder } from '../events/recorder.js';
import { ManifestBodyCache, ManifestLookupCache } from './manifest-cache.js';
import type { Manifests } from './services.js';

/** Where pull times go (PullRecorder batches them for retention). */
export interface PullSink {
  record(repository: string, digest: string, tag: string | null): void;
}

export interface PushedManifest {
  readonly digest: string;
  readonly subject: string | null;
  readonly tags: readonly string[];
}

/** A tag or a digest, as the URL gave it. */
export type Reference = { readonly tag: string } | { readonly digest: string };

export function parseReference(value: string): Reference {
  if (value.includes(':')) {
    const parsed = parseDigest(value);
    if (!parsed) throw new DomainError('DigestInvalid', 'invalid digest reference', { reference: value.slice(0, 200) });
    return { digest: value };
  }
  return { tag: requireTag(value) };
}

export class ManifestService implements Manifests {
  constructor(
    private readonly metadata: MetadataStore,
    private readonly events: EventRecorder,
    private readonly pulls: PullSink,
    private readonly bodies = new ManifestBodyCache(),
    private readonly lookups = new ManifestLookupCache(),
  ) {}

  /**
   * A descriptor's size must be its target's: clients check it and fail the pull, so a manifest that lies about a
   * size is one nobody can pull. Targets not stored yet are left to putManifest, which reports them as unknown.
   */
  private async checkSizes(repository: string, references: readonly RequiredContent[]): Promise<void> {
    // One lookup per digest however often it is listed (a hostile index may list one child under many sizes).
    const stored = new Map<string, number | null>();
    for (const { digest, size, manifest } of references) {
      const key = `${manifest ? 'manifest' : 'blob'} ${digest}`;
      if (!stored.has(key)) {
        const found = manifest ? await this.metadata.getManifest(repository, { digest }) : await this.metadata.getRepositoryBlob(repository, digest);
        stored.set(key, found?.size ?? null);
      }
      const actual = stored.get(key) ?? null;
      if (actual !== null && actual !== size) {
        throw new DomainError('ManifestInvalid', `descriptor size ${size} does not match the stored ${manifest ? 'child manifest' : 'blob'} of ${actual} bytes`, {
          digest,
          declared: size,
          actual,
        });
      }
    }
  }

  async push(
    repository: string,
    reference: Reference,
    body: Buffer,
    contentType: string | undefined,
    extraTags: readonly string[],
    origin?: EventOrigin,
  ): Promise<PushedManifest> {
    const parsed = parseManifest(body, contentType);
    let digest: string;
    if ('digest' in reference) {
      const wanted = parseDigest(reference.digest)!;
      digest = digestOf(body, wanted.algorithm);
      if (digest !== reference.digest) {
        throw new DomainError('DigestInvalid', 'manifest content does not match the digest in the URL', {
          expected: reference.digest,
          actual: digest,
        });
      }
    } else {
      digest = digestOf(body);
    }
    await this.checkSizes(repository, parsed.references);
    const tags = [...new Set([...('tag' in reference ? [reference.tag] : []), ...extraTags.map(requireTag)])];
    const target = { repository, digest, mediaType: parsed.mediaType, size: body.length };
    // One push event per tag, as Distribution sends them; one untagged event for a push by digest.
    const events: OutboxEvent[] = (tags.length ? tags : [undefined]).flatMap((tag) => this.events.events('push', { ...target, tag }, origin));
    const result = await this.metadata.putManifest({
      repository,
      digest,
      mediaType: parsed.mediaType,
      body,
      artifactType: parsed.artifactType,
      subject: parsed.subject,
      annotations: parsed.annotations,
      blobs: parsed.blobs,
      manifests: parsed.manifests,
      tags,
    }, events);
    if (!result.ok) {
      const missing = result.missingBlob ?? result.missingManifest;
      throw new DomainError(
        'ManifestBlobUnknown',
        result.missingBlob ? 'manifest references a blob unknown to this repository' : 'index references a manifest unknown to this repository',
        { digest: missing },
      );
    }
    return { digest, subject: parsed.subject, tags };
  }

  async get(repository: string, reference: Reference): Promise<ManifestRecord> {
    // The version is read first: a change landing between it and the lookup only makes the entry stale at once.
    const version = await this.metadata.contentVersion();
    const key = 'tag' in reference ? `${repository}\u0000t\u0000${reference.tag}` : `${repository}\u0000d\u0000${reference.digest}`;
    const cached = version === null ? undefined : this.lookups.get(version, key);
    if (cached) return cached;
    const record = await this.metadata.getManifest(repository, reference);
    if (!record) {
      throw new DomainError('ManifestUnknown', 'manifest unknown', 'tag' in reference ? { tag: reference.tag } : { digest: reference.digest });
    }
    const shared = { ...record, body: this.bodies.share(record.digest, record.body) };
    if (version !== null) this.lookups.set(version, key, shared);
    return shared;
  }

  /** Pull events cost a write, so they are recorded only when some endpoint subscribes to pulls. */
  async recordPull(record: ManifestRecord, reference: Reference, origin: EventOrigin): Promise<void> {
    const tag = 'tag' in reference ? reference.tag : undefined;
    this.pulls.record(record.repository, record.digest, tag ?? null);
    if (!this.events.wants('pull')) return;
    const target = { repository: record.repository, digest: record.digest, mediaType: record.mediaType, size: record.size, tag };
    await this.metadata.appendEvents(this.events.events('pull', target, origin));
  }

  async delete(repository: string, reference: Reference, origin?: EventOrigin): Promise<void> {
    let deleted: boolean;
    if ('tag' in reference) {
      const current = await this.metadata.getManifest(repository, reference);
      const target = { repository, digest: current?.digest ?? '', mediaType: current?.mediaType, tag: reference.tag };
      deleted = current !== null && (await this.metadata.deleteTag(repository, reference.tag, this.events.events('delete', target, origin)));
    } else {
      const events = this.events.events('delete', { repository, digest: reference.digest }, origin);
      deleted = await this.metadata.deleteManifest(repository, reference.digest, events);
    }
    if (!deleted) throw new DomainError('ManifestUnknown', 'manifest unknown', reference);
  }

  /** The referrers response: an image index of the manifests whose subject is the given digest. */
  async referrers(repository: string, subject: string, artifactType?: string): Promise<object> {
    const found: ReferrerRecord[] = await this.metadata.listReferrers(repository, subject, artifactType);
    return {
      schemaVersion: 2,
      mediaType: mediaTypes.ociIndex,
      manifests: found.map((r) => ({
        mediaType: r.mediaType,
        digest: r.digest,
        size: r.size,
        ...(r.artifactType ? { artifactType: r.artifactType } : {}),
        ...(r.annotations ? { annotations: r.annotations } : {}),
      })),
    };
  }
}
