// How a store's rows become export records: the same columns in both stores' schemas, so one mapping serves both
// exports (sqlite-export.ts, postgres/export.ts) and they cannot drift apart.
import type { EventExport, ManifestExport } from './export-format.js';
import { toUpload, type UploadRow } from './rows.js';

/** A manifest's columns, without its body (read apart, so a page of large bodies never sits in memory). */
export interface ManifestExportRow {
  id: number;
  digest: string;
  media_type: string;
  artifact_type: string | null;
  subject: string | null;
  annotations: string | null;
  created_at: number;
  last_pulled_at: number | null;
}

export interface ReferenceExportRow {
  digest: string;
  kind: 'blob' | 'manifest';
}

export interface DeliveryExportRow {
  endpoint: string;
  status: 'pending' | 'dead';
  attempts: number;
  next_attempt_at: number;
  last_error: string | null;
}

export function manifestRecord(repository: string, m: ManifestExportRow, body: Buffer, refs: readonly ReferenceExportRow[]): ManifestExport {
  return {
    type: 'manifest',
    repository,
    digest: m.digest,
    mediaType: m.media_type,
    artifactType: m.artifact_type,
    subject: m.subject,
    annotations: m.annotations ? (JSON.parse(m.annotations) as Record<string, string>) : null,
    body: body.toString('base64'),
    createdAt: m.created_at,
    lastPulledAt: m.last_pulled_at,
    blobs: refs.filter((r) => r.kind === 'blob').map((r) => r.digest),
    manifests: refs.filter((r) => r.kind === 'manifest').map((r) => r.digest),
  };
}

export function eventDeliveries(rows: readonly DeliveryExportRow[]): EventExport['deliveries'] {
  return rows.map((d) => ({ endpoint: d.endpoint, status: d.status, attempts: d.attempts, nextAttemptAt: d.next_attempt_at, lastError: d.last_error }));
}

export function uploadRecord(row: UploadRow) {
  return { type: 'upload', ...toUpload(row) } as const;
}
