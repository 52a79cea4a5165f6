import type { EventOrigin } from '../events/event.js';
import type { EventRecorder } from '../events/recorder.js';
import type { MetadataStore } from '../metadata/store.js';
import { RegistryError } from '../oci/errors.js';

export class RepositoryService {
  constructor(
    private readonly metadata: MetadataStore,
    private readonly events: EventRecorder,
  ) {}

  /**
   * Deletes a repository: its tags, manifests and blob links go at once (readers get NAME_UNKNOWN), and the next
   * GC pass reclaims the blobs no other repository uses.
   */
  async delete(repository: string, origin?: EventOrigin): Promise<void> {
    const events = this.events.events('delete', { repository, digest: '' }, origin);
    if (!(await this.metadata.deleteRepository(repository, events))) {
      throw new RegistryError('NAME_UNKNOWN', 'repository name not known to registry', { name: repository });
    }
  }
}
