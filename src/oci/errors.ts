// The registry's failures in its own terms. They carry what the caller needs to know (a digest, a size, the offset
// an upload is at), never an HTTP status or header: src/api/errors.ts alone decides how each is answered, so the
// services can be driven by the CLI, the importer or a pull-through cache without speaking HTTP.

/** Anything a detail may hold; the API bounds what it echoes, since much of it comes from the client. */
export type ErrorDetail = Readonly<Record<string, unknown>>;

/** Each kind with the data it carries. */
export interface DomainErrorData {
  BlobUnknown: { readonly digest: string };
  /** Garbage collection holds the digest right now; the same request will succeed shortly. */
  BlobBusy: { readonly digest: string };
  ManifestUnknown: { readonly tag: string } | { readonly digest: string };
  ManifestInvalid: ErrorDetail | undefined;
  ManifestBlobUnknown: { readonly digest: string | undefined };
  DigestInvalid: ErrorDetail | undefined;
  NameInvalid: { readonly name: string };
  NameUnknown: { readonly name: string };
  TagInvalid: { readonly tag: string };
  UploadUnknown: { readonly uuid: string };
  /** A chunk that does not start where the staged bytes end; `got` and `uuid` when the request stated them. */
  UploadOffsetMismatch: { readonly expected: number; readonly got?: number; readonly uuid?: string };
  RangeNotSatisfiable: { readonly digest: string; readonly size: number };
  QuotaExceeded: { readonly repository: string; readonly quota: number; readonly used: number; readonly incoming: number };
  TooManyUploadSessions: { readonly limit: number };
  /** No space left on the disk or in the database: nothing more can be stored until an operator frees some. */
  StorageFull: undefined;
}

export type DomainErrorKind = keyof DomainErrorData;

export class DomainError<K extends DomainErrorKind = DomainErrorKind> extends Error {
  constructor(
    readonly kind: K,
    message: string,
    readonly data: DomainErrorData[K],
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = `DomainError(${kind})`;
  }
}

export function isDomainError<K extends DomainErrorKind>(err: unknown, kind?: K): err is DomainError<K> {
  return err instanceof DomainError && (kind === undefined || err.kind === kind);
}

export function nameUnknown(name: string): DomainError<'NameUnknown'> {
  return new DomainError('NameUnknown', 'repository name not known to registry', { name });
}

export function unknownUpload(id: string): DomainError<'UploadUnknown'> {
  return new DomainError('UploadUnknown', 'upload session not found', { uuid: id.slice(0, 100) });
}

export function blobUnknown(digest: string): DomainError<'BlobUnknown'> {
  return new DomainError('BlobUnknown', 'blob unknown to registry', { digest });
}
