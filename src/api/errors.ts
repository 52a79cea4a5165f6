import { DomainError, type DomainErrorData, type DomainErrorKind } from '../registry/errors.js';
import { isStorageFull } from '../registry/storage-full.js';
import { stagedRange } from './range.js';

// The error codes of the OCI distribution spec, each with the HTTP status it usually comes with. Clients only
// know these codes, so situations the table lacks (an out-of-order chunk, an oversized manifest) reuse the nearest
// code with the status the spec prescribes for the situation.
export const errorStatus = {
  BLOB_UNKNOWN: 404,
  BLOB_UPLOAD_INVALID: 400,
  BLOB_UPLOAD_UNKNOWN: 404,
  DIGEST_INVALID: 400,
  MANIFEST_BLOB_UNKNOWN: 400,
  MANIFEST_INVALID: 400,
  MANIFEST_UNKNOWN: 404,
  NAME_INVALID: 400,
  NAME_UNKNOWN: 404,
  TAG_INVALID: 400,
  SIZE_INVALID: 400,
  UNAUTHORIZED: 401,
  DENIED: 403,
  UNSUPPORTED: 405,
  TOOMANYREQUESTS: 429,
  UNKNOWN: 500,
} as const;

export type ErrorCode = keyof typeof errorStatus;

/** Longest string kept in an error detail: details often carry what the client sent, and must stay small. */
export const maxDetailString = 256;
const maxDetailEntries = 16;

function boundedScalar(value: unknown): unknown {
  if (typeof value === 'string') return value.length <= maxDetailString ? value : `${value.slice(0, maxDetailString)}…`;
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return value;
  return undefined; // objects, arrays, functions: never echoed
}

/**
 * Error details are scalars, or one level of object (or an array of such objects, as Distribution's auth details
 * are) holding scalars, with strings cut at maxDetailString. A detail is often built from the client's own input,
 * so nothing deeper or longer is ever kept: the response stays small, and serialising it cannot fail.
 */
export function boundedDetail(detail: unknown): unknown {
  if (detail === undefined) return undefined;
  const flat = (value: unknown): unknown => {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return boundedScalar(value);
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).slice(0, maxDetailEntries)) {
      const kept = boundedScalar((value as Record<string, unknown>)[key]);
      if (kept !== undefined) out[key.slice(0, 64)] = kept;
    }
    return out;
  };
  if (Array.isArray(detail)) return detail.slice(0, maxDetailEntries).map(flat);
  return flat(detail);
}

export class RegistryError extends Error {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly detail: unknown;

  constructor(
    readonly code: ErrorCode,
    message: string,
    detail?: unknown,
    options: { status?: number; headers?: Record<string, string> } = {},
  ) {
    super(message.length <= 1024 ? message : `${message.slice(0, 1024)}…`);
    this.detail = boundedDetail(detail);
    this.status = options.status ?? errorStatus[code];
    this.headers = options.headers ?? {};
  }

  toJSON(): { errors: { code: string; message: string; detail?: unknown }[] } {
    return { errors: [{ code: this.code, message: this.message, ...(this.detail === undefined ? {} : { detail: this.detail }) }] };
  }
}

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
