import { DomainError } from '../oci/errors.js';

/**
 * The one domain error for "no space left": the filesystem (ENOSPC), a quota of the filesystem (EDQUOT) or SQLite
 * unable to grow its file (SQLITE_FULL) all mean the same to a client: nothing more can be stored until an
 * operator frees space. The API answers it with 507; it is never mistaken for a client that went away.
 */
export class StorageFullError extends DomainError<'StorageFull'> {
  constructor(cause: unknown) {
    super('StorageFull', `storage is full: ${(cause as Error)?.message ?? String(cause)}`, undefined, { cause });
    this.name = 'StorageFullError';
  }
}

const fullCodes = new Set(['ENOSPC', 'EDQUOT', 'SQLITE_FULL']);

export function isStorageFull(err: unknown): boolean {
  if (err instanceof StorageFullError) return true;
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && fullCodes.has(code);
}

/** Rethrows a storage-full failure as StorageFullError, anything else as it is. */
export function asStorageFull(err: unknown): unknown {
  return isStorageFull(err) && !(err instanceof StorageFullError) ? new StorageFullError(err) : err;
}
