// The OCI error response: the spec's codes with their usual statuses, and the error JSON every 4xx/5xx carries.
// Auth (challenges, lockout) and the API both answer with it; domain failures reach it only through api/errors.ts.
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
