import type { BlobRecord, MetadataStore } from '../metadata/store.js';
import type { DigestAlgorithm, ParsedDigest } from '../oci/digest.js';
import type { QuotaReservation, Quotas } from '../quota/quotas.js';
import { refusedMidStream, withQuota } from './quota-scope.js';
import type { Chunk, Uploads } from './services.js';
import type { UploadSessions, UploadStatus } from './uploads.js';

/**
 * Upload sessions as clients drive them: UploadSessions stages and verifies the bytes, this counts them against the
 * repository's quota as they arrive. Bytes a repository already holds (a re-push) are free.
 */
export class UploadService implements Uploads {
  constructor(
    private readonly sessions: UploadSessions,
    private readonly metadata: MetadataStore,
    private readonly quotas: Quotas,
  ) {}

  start(repository: string, algorithm: DigestAlgorithm): Promise<UploadStatus> {
    return withQuota(this.quotas, repository, async (quota) => {
      quota.expect(0); // a full repository gets no new session
      return this.sessions.start(repository, algorithm);
    });
  }

  status(repository: string, id: string): Promise<UploadStatus> {
    return this.sessions.status(repository, id);
  }

  append(repository: string, id: string, chunk: Chunk): Promise<UploadStatus> {
    return withQuota(this.quotas, repository, async (quota) => {
      const staged = (await this.sessions.status(repository, id)).size;
      try {
        quota.expect(chunk.declaredLength);
        const status = await this.sessions.append(repository, id, chunk.body, chunk.range, (n) => quota.arrive(n));
        quota.keep();
        return status;
      } catch (err) {
        return this.dropSession(repository, id, quota, staged, err);
      }
    });
  }

  finish(repository: string, id: string, digest: ParsedDigest, chunk: Chunk | null): Promise<BlobRecord> {
    return withQuota(this.quotas, repository, async (quota) => {
      const staged = (await this.sessions.status(repository, id)).size;
      const held = await this.metadata.getRepositoryBlob(repository, `${digest.algorithm}:${digest.hex}`);
      try {
        if (held) quota.allow(Math.max(0, held.size - staged)); // already counted
        else quota.expect(chunk?.declaredLength ?? 0);
        const stored = await this.sessions.finish(repository, id, digest, chunk?.body ?? null, chunk?.range, (n) => quota.arrive(n));
        if (held) quota.forget(staged); // the session's bytes were a copy of what the repository holds
        else quota.keep();
        return stored;
      } catch (err) {
        return this.dropSession(repository, id, quota, staged, err);
      }
    });
  }

  async monolithic(repository: string, digest: ParsedDigest, chunk: Chunk): Promise<BlobRecord> {
    const held = await this.metadata.getRepositoryBlob(repository, `${digest.algorithm}:${digest.hex}`);
    return withQuota(this.quotas, repository, async (quota) => {
      if (held) quota.allow(held.size); // already counted
      else quota.expect(chunk.declaredLength);
      const stored = await this.sessions.monolithic(repository, digest, chunk.body, (n) => quota.arrive(n));
      quota.keep();
      return stored;
    });
  }

  cancel(repository: string, id: string): Promise<void> {
    return this.sessions.cancel(repository, id);
  }

  /** A refused or failed-for-space session is removed at once, so its staged bytes neither linger nor count. */
  private async dropSession(repository: string, id: string, quota: QuotaReservation, staged: number, err: unknown): Promise<never> {
    if (refusedMidStream(err)) {
      await this.sessions.cancel(repository, id).catch(() => undefined);
      quota.forget(staged);
    }
    throw err;
  }
}
