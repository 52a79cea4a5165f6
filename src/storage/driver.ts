import type { Readable, Writable } from 'node:stream';

export interface ByteRange {
  readonly start: number; // inclusive
  readonly end: number; // inclusive
}

export interface StoredObject {
  readonly size: number;
  readonly modifiedAt: number; // ms since epoch
}

/**
 * Where bytes live. Keys are '/'-separated relative paths chosen by the caller (see paths.ts). Finished content is
 * only ever created by commitUpload, which must be atomic: a reader sees the whole object or nothing. Upload staging
 * is part of the interface because each backend stages differently (a file appended to, an S3 multipart upload).
 */
export interface BlobDriver {
  readonly name: string;

  stat(key: string): Promise<StoredObject | null>;
  /** Rejects with a NotFoundError when the key does not exist. */
  read(key: string, range?: ByteRange): Promise<Readable>;
  /**
   * Serves the object (or the range) to destination, ends it, and resolves once it finished: the hot path of a
   * download, which each backend streams its own best way. Rejects with a NotFoundError, before `onOpen` and
   * before writing anything, when the key does not exist; `onOpen` runs once the object is open (to send headers).
   * Rejects when the destination closes or fails first or a read fails; the caller destroys the destination.
   */
  send(key: string, range: ByteRange | undefined, destination: Writable, onOpen?: () => void): Promise<void>;
  /** Returns false when the key did not exist. */
  delete(key: string): Promise<boolean>;
  /** Every key under the prefix, in no particular order. */
  list(prefix: string): AsyncIterable<string>;

  /** Creates an empty staging area for an upload. */
  createUpload(uploadId: string): Promise<void>;
  /** Bytes staged so far, or null when the upload does not exist. */
  uploadSize(uploadId: string): Promise<number | null>;
  /**
   * Appends the whole source at the given offset, which must equal the staged size (else OffsetMismatchError).
   * Resolves with the new staged size. On failure, part of the source may have been staged: callers re-read
   * uploadSize before continuing.
   */
  appendUpload(uploadId: string, offset: number, source: Readable): Promise<number>;
  readUpload(uploadId: string): Promise<Readable>;
  /** Durably moves the staged bytes to key. When key already exists (same content) the upload is just dropped. */
  commitUpload(uploadId: string, key: string): Promise<void>;
  /** Removes an upload's staging area; no error when it is already gone. */
  abortUpload(uploadId: string): Promise<void>;
  listUploads(): AsyncIterable<{ id: string; modifiedAt: number }>;
  /**
   * A short-lived URL clients may download the object from directly, or null to have the registry send it.
   * Optional: drivers whose bytes are not reachable by clients (a disk) leave it out.
   */
  redirectUrl?(key: string): Promise<string | null>;
}

export class NotFoundError extends Error {
  constructor(readonly key: string) {
    super(`not found: ${key}`);
  }
}

export class OffsetMismatchError extends Error {
  constructor(
    readonly expected: number,
    readonly actual: number,
  ) {
    super(`upload offset ${expected} does not match staged size ${actual}`);
  }
}

/** What send rejects with when the destination closed first (the client went away): the code streams use for it. */
export function destinationClosed(): Error {
  return Object.assign(new Error('destination closed before the whole object was written'), { code: 'ERR_STREAM_PREMATURE_CLOSE' });
}
