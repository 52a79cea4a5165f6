import type { ParsedDigest } from '../oci/digest.js';

// Two hex characters of fan-out keep directories (and S3 listing prefixes) small.
export function blobKey(digest: ParsedDigest): string {
  return `blobs/${digest.algorithm}/${digest.hex.slice(0, 2)}/${digest.hex}`;
}

export const blobPrefix = 'blobs/';

/** Inverse of blobKey, for walkers (GC, fsck) that list storage. */
export function digestFromBlobKey(key: string): string | null {
  const m = /^blobs\/(sha256|sha512)\/[a-f0-9]{2}\/([a-f0-9]+)$/.exec(key);
  return m ? `${m[1]}:${m[2]}` : null;
}
