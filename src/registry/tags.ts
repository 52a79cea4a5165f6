import type { MetadataStore, Page } from '../metadata/store.js';
import { nameUnknown } from '../oci/errors.js';
import type { Tags } from './services.js';

export class TagService implements Tags {
  constructor(private readonly metadata: MetadataStore) {}

  async list(repository: string, page: Page): Promise<string[]> {
    const found = await this.metadata.listTags(repository, page);
    if (found === null) throw nameUnknown(repository);
    return found;
  }
}
