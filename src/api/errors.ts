import { DomainError, type DomainErrorData, type DomainErrorKind } from '../oci/errors.js';
import { isStorageFull } from '../registry/storage-full.js';
import { stagedRange } from './range.js';
import { RegistryError, type ErrorCode } from '../http/oci-errors.js';

export { boundedDetail, errorStatus, maxDetailString, RegistryError, type ErrorCode } from '../http/oci-errors.js';

/** How one domain failure is answered: the OCI code, and the status and headers when they are not the code's own. */
interface Answer {
  readonly code: ErrorCode;
  readonly status?: number;
  readonly headers?: Record<string, string>;
  /** The error's data, unless the answer echoes something else (or nothing). */
  readonly detail?: unknown;
}

/**
 * The one place where domain failures become OCI answers, like Distribution's errcode registry: every kind must
 * have an entry, so a new failure cannot reach a client as a 500 by oversight.
 */
const answers: { readonly [K in DomainErrorKind]: (data: DomainErrorData[K]) => Answer } = {
  BlobUnknown: () => ({ code: 'BLOB_UNKNOWN' }),
  BlobBusy: () => ({ code: 'TOOMANYREQUESTS', headers: { 'Retry-After': '1' } }),
  ManifestUnknown: () => ({ code: 'MANIFEST_UNKNOWN' }),
  ManifestInvalid: () => ({ code: 'MANIFEST_INVALID' }),
  ManifestBlobUnknown: () => ({ code: 'MANIFEST_BLOB_UNKNOWN' }),
  DigestInvalid: () => ({ code: 'DIGEST_INVALID' }),
  NameInvalid: () => ({ code: 'NAME_INVALID' }),
  NameUnknown: () => ({ code: 'NAME_UNKNOWN' }),
  TagInvalid: () => ({ code: 'TAG_INVALID' }),
  UploadUnknown: () => ({ code: 'BLOB_UPLOAD_UNKNOWN' }),
  // 416 with the Range the upload is at, as the spec prescribes for an out-of-order chunk.
  UploadOffsetMismatch: ({ expected, got, uuid }) => ({
    code: 'BLOB_UPLOAD_INVALID',
    status: 416,
    headers: { Range: stagedRange(expected), ...(uuid === undefined ? {} : { 'Docker-Upload-UUID': uuid }) },
    detail: got === undefined ? undefined : { expected, got },
  }),
  // No spec code fits a range past the end; SIZE_INVALID is the nearest, and the body is the usual error JSON.
  RangeNotSatisfiable: ({ digest, size }) => ({
    code: 'SIZE_INVALID',
    status: 416,
    headers: { 'Content-Range': `bytes */${size}`, 'Docker-Content-Digest': digest },
    detail: { size },
  }),
  QuotaExceeded: () => ({ code: 'DENIED' }),
  // Sessions end when their clients finish or the purge removes them: minutes, not the second a busy blob takes.
  TooManyUploadSessions: () => ({ code: 'TOOMANYREQUESTS', headers: { 'Retry-After': '60' } }),
  // 507 Insufficient Storage: exactly the condition, and unlike 503 not retried at once by clients.
  StorageFull: () => ({ code: 'UNKNOWN', status: 507, detail: { reason: 'storage full' } }),
};

const storageFullMessage = 'storage is full: the registry cannot store more data until space is freed';

/** The answer to a failure the API knows, or null for anything else (a bug, a lost disk: a 500 and a log line). */
export function apiError(err: unknown): RegistryError | null {
  if (err instanceof RegistryError) return err;
  if (isStorageFull(err)) return apiError(new DomainError('StorageFull', storageFullMessage, undefined));
  if (!(err instanceof DomainError)) return null;
  const answer = (answers[err.kind as DomainErrorKind] as (data: unknown) => Answer)(err.data);
  // The client never sees why the disk is full (the cause names paths): the message is the API's own.
  const message = err.kind === 'StorageFull' ? storageFullMessage : err.message;
  const detail = 'detail' in answer ? answer.detail : err.data;
  return new RegistryError(answer.code, message, detail, { status: answer.status, headers: answer.headers });
}
