import type { MetadataStore } from '../metadata/store.js';
import { matchesAny, repositoryGlob } from '../oci/glob.js';
import { RegistryError } from '../oci/errors.js';
import type { QuotaRule } from './config.js';

export interface QuotaStatus {
  readonly limit: number | null;
  readonly used: number;
}

/** Per-repository storage quotas, checked before data is accepted wherever the size is known in advance. */
export class Quotas {
  private readonly rules: readonly { globs: RegExp[]; maxBytes: number }[];

  constructor(
    rules: readonly QuotaRule[],
    private readonly metadata: MetadataStore,
  ) {
    this.rules = rules.map((r) => ({ globs: r.repositories.map(repositoryGlob), maxBytes: r.maxBytes }));
  }

  limitFor(repository: string): number | null {
    return this.rules.find((r) => matchesAny(r.globs, repository))?.maxBytes ?? null;
  }

  async status(repository: string): Promise<QuotaStatus> {
    const limit = this.limitFor(repository);
    const used = (await this.metadata.repositoryUsage(repository))?.bytes ?? 0;
    return { limit, used };
  }

  /**
   * Refuses (403 DENIED) when adding `incoming` bytes would take the repository over its quota; with an unknown
   * size (an upload session starting), when the repository is already full.
   */
  async check(repository: string, incoming: number | 'unknown'): Promise<void> {
    const limit = this.limitFor(repository);
    if (limit === null) return;
    const used = (await this.metadata.repositoryUsage(repository))?.bytes ?? 0;
    if (incoming === 'unknown' ? used >= limit : used + incoming > limit) {
      throw new RegistryError('DENIED', `repository ${repository} would exceed its storage quota of ${limit} bytes (${used} used)`, {
        repository,
        quota: limit,
        used,
        incoming,
      });
    }
  }
}
