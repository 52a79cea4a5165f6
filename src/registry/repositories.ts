import type { EventOrigin } from '../events/event.js';
import type { EventRecorder } from '../events/recorder.js';
import type { ContentStore, Page, UsageStore } from '../metadata/store.js';
import type { Quotas } from '../quota/quotas.js';
import { nameUnknown } from '../oci/errors.js';
import type { CatalogScan, Repositories, UsageWithQuota } from './services.js';

export class RepositoryService implements Repositories {
  constructor(
    private readonly metadata: Pick<ContentStore, 'deleteRepository' | 'listRepositories'> & Pick<UsageStore, 'repositoryUsage' | 'listRepositoryUsage'>,
    private readonly events: EventRecorder,
    private readonly quotas: Pick<Quotas, 'limitFor'>,
  ) {}

  /**
   * Deletes a repository: its tags, manifests and blob links go at once (readers get NAME_UNKNOWN), and the next
   * GC pass reclaims the blobs no other repository uses. The store removes a large repository's contents in
   * bounded steps, so this may take a while without holding up other requests.
   */
  async delete(repository: string, origin?: EventOrigin): Promise<void> {
    const events = this.events.events('delete', { repository, digest: '' }, origin);
    if (!(await this.metadata.deleteRepository(repository, events))) throw nameUnknown(repository);
  }

  async scan(after: string | undefined, limit: number, budget: number, visible: (name: string) => boolean): Promise<CatalogScan> {
    const names: string[] = [];
    let last = after;
    let examined = 0;
    let exhausted = false;
    while (limit > 0 && names.length <= limit && examined < budget) {
      const want = Math.min(Math.max(limit + 1, 100), budget - examined);
      const batch = await this.metadata.listRepositories({ last, limit: want });
      for (const name of batch) {
        examined++;
        last = name;
        if (visible(name) && names.push(name) > limit) break;
      }
      if (batch.length < want) {
        exhausted = true;
        break;
      }
    }
    return { names, last, exhausted };
  }

  async usage(repository: string): Promise<UsageWithQuota> {
    const usage = await this.metadata.repositoryUsage(repository);
    if (!usage) throw nameUnknown(repository);
    return { ...usage, quota: this.quotas.limitFor(usage.name) };
  }

  async listUsage(page: Page): Promise<UsageWithQuota[]> {
    const found = await this.metadata.listRepositoryUsage(page);
    return found.map((r) => ({ ...r, quota: this.quotas.limitFor(r.name) }));
  }
}
