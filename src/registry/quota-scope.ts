import type { QuotaReservation, Quotas } from '../quota/quotas.js';
import { isDomainError } from '../oci/errors.js';
import { StorageFullError } from './storage-full.js';

/**
 * Failures that refuse a request's bytes while they may still be arriving: the client is usually still sending, so
 * the API reads the rest before answering (see handlers/uploads.ts).
 */
export function refusedMidStream(err: unknown): boolean {
  return isDomainError(err, 'QuotaExceeded') || err instanceof StorageFullError;
}

/**
 * Runs one request's step with the repository's quota accounting (a no-op for repositories without a quota): its
 * bytes count toward usage as they arrive, and the reservation ends with the step.
 */
export async function withQuota<T>(quotas: Quotas, repository: string, work: (quota: QuotaReservation) => Promise<T>): Promise<T> {
  const quota = await quotas.reserve(repository);
  try {
    return await work(quota);
  } finally {
    quota.release();
  }
}
