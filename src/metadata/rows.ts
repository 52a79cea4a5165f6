// Rows as both SQL stores read them (snake_case columns) and the records the ports return.
import type { Delivery, UploadRecord } from './store.js';
import type { RepositorySummary, TagSummary } from './browse.js';

export interface DeliveryRow {
  event_id: number;
  endpoint: string;
  repository: string;
  payload: string;
  attempts: number;
  last_error: string | null;
  created_at: number;
}

export function toDelivery(row: DeliveryRow): Delivery {
  return {
    eventId: row.event_id,
    endpoint: row.endpoint,
    repository: row.repository,
    payload: row.payload,
    attempts: row.attempts,
    lastError: row.last_error,
    createdAt: row.created_at,
  };
}

export interface UploadRow {
  id: string;
  repository: string;
  algorithm: string;
  size: number;
  created_at: number;
  updated_at: number;
}

export function toUpload(row: UploadRow): UploadRecord {
  return { id: row.id, repository: row.repository, algorithm: row.algorithm, size: row.size, createdAt: row.created_at, updatedAt: row.updated_at };
}

export interface ManifestRow {
  digest: string;
  media_type: string;
  size: number;
  body: Buffer;
  artifact_type: string | null;
  subject: string | null;
  created_at: number;
}

export interface ReferrerRow {
  digest: string;
  media_type: string;
  size: number;
  artifact_type: string | null;
  annotations: string | null;
}

/** A repository as the web UI's list reads it (both stores compute the same columns). */
export interface RepositorySummaryRow {
  name: string;
  bytes: number;
  tags: number;
  manifests: number;
  pushed_at: number | null;
  pulled_at: number | null;
}

export function toRepositorySummary(row: RepositorySummaryRow): RepositorySummary {
  return {
    name: row.name,
    bytes: Number(row.bytes),
    tags: Number(row.tags),
    manifests: Number(row.manifests),
    pushedAt: Number(row.pushed_at) || null,
    pulledAt: Number(row.pulled_at) || null,
  };
}

/** Manifest media types whose body the tag list returns, to read an index's platforms. */
export const indexMediaTypes = ['application/vnd.oci.image.index.v1+json', 'application/vnd.docker.distribution.manifest.list.v2+json'];

/** A tag as the web UI's tag list reads it; `referrer_types` is the referrers' artifact types joined by commas. */
export interface TagSummaryRow {
  name: string;
  digest: string;
  media_type: string;
  artifact_type: string | null;
  size: number;
  content_size: number;
  pushed_at: number;
  pulled_at: number | null;
  body: Buffer | null;
  referrer_types: string | null;
}

export function toTagSummary(row: TagSummaryRow): TagSummary {
  return {
    name: row.name,
    digest: row.digest,
    mediaType: row.media_type,
    artifactType: row.artifact_type,
    manifestSize: Number(row.size),
    contentSize: Number(row.content_size),
    pushedAt: Number(row.pushed_at),
    pulledAt: Number(row.pulled_at) || null,
    indexBody: row.body,
    referrerTypes: row.referrer_types === null ? [] : row.referrer_types.split(','),
  };
}
