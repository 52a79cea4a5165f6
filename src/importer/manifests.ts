// Manifests of a Distribution repository: read, checked against their digest and validated before anything is
// imported, so that the blobs they use are known; then pushed children first.
import { digestOf, parseDigest } from '../oci/digest.js';
import { DomainError } from '../oci/errors.js';
import { parseManifest, type ParsedManifest } from '../oci/manifest.js';
import type { DistributionRepository, DistributionStorage } from './distribution.js';
import type { RepositoryReport } from './types.js';

export function describeError(err: DomainError): string {
  // The data may echo what the source held, so the report keeps only its start.
  return `${err.kind}: ${err.message}${err.data === undefined ? '' : ` ${JSON.stringify(err.data).slice(0, 500)}`}`;
}

/** Docker image manifest schema 1 (signed or not), which only Distribution 2 still serves. */
function isSchema1(body: Buffer): boolean {
  let doc: unknown;
  try {
    doc = JSON.parse(body.toString('utf8'));
  } catch {
    return false; // parseManifest reports it
  }
  if (typeof doc !== 'object' || doc === null) return false;
  const { schemaVersion, mediaType } = doc as { schemaVersion?: unknown; mediaType?: unknown };
  return schemaVersion === 1 || (typeof mediaType === 'string' && mediaType.startsWith('application/vnd.docker.distribution.manifest.v1'));
}

export interface Revision {
  readonly body: Buffer;
  readonly parsed: ParsedManifest;
}

export interface Revisions {
  /** The importable manifests, by digest. */
  readonly revisions: Map<string, Revision>;
  /** Schema 1 manifests: counted, never imported. */
  readonly schema1: Set<string>;
  /** Manifests that cannot be imported (missing, corrupt, invalid); the problem is in the report. */
  readonly failed: Set<string>;
}

export async function readRevisions(storage: DistributionStorage, repo: DistributionRepository, report: RepositoryReport): Promise<Revisions> {
  const revisions = new Map<string, Revision>();
  const schema1 = new Set<string>();
  const failed = new Set<string>();
  for (const digest of repo.revisions) {
    const body = await storage.readBlob(digest);
    if (body === null) {
      report.problems.push(`manifest ${digest}: its bytes are missing from the source's blobs/`);
      failed.add(digest);
      continue;
    }
    if (digestOf(body, parseDigest(digest)!.algorithm) !== digest) {
      report.problems.push(`manifest ${digest}: its bytes in the source do not match the digest (corrupt)`);
      failed.add(digest);
      continue;
    }
    if (isSchema1(body)) {
      schema1.add(digest);
      report.manifests.schema1++;
      continue;
    }
    try {
      revisions.set(digest, { body, parsed: parseManifest(body, undefined) });
    } catch (err) {
      if (!(err instanceof DomainError)) throw err;
      report.problems.push(`manifest ${digest}: cannot be imported: ${describeError(err)}`);
      failed.add(digest);
    }
  }
  return { revisions, schema1, failed };
}

/** Digests in push order: the children of an index before the index, which the registry checks. */
export function childrenFirst(revisions: ReadonlyMap<string, Revision>): string[] {
  const order: string[] = [];
  const seen = new Set<string>();
  const visit = (digest: string) => {
    if (seen.has(digest)) return;
    seen.add(digest);
    for (const child of revisions.get(digest)?.parsed.manifests ?? []) if (revisions.has(child)) visit(child);
    order.push(digest);
  };
  for (const digest of revisions.keys()) visit(digest);
  return order;
}
