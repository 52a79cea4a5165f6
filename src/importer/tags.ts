// The tags of a Distribution repository into Wharf, once their manifests are in. A tag Wharf has pointing elsewhere
// is moved only when the import itself set it (see importedAt): one pushed to Wharf since wins, unless overwriteTags.
import type { MetadataStore } from '../metadata/store.js';
import { isValidTag } from '../oci/names.js';
import type { Registry } from '../registry/registry.js';
import type { DistributionRepository } from './distribution.js';
import type { Revisions } from './manifests.js';
import type { ImportCounters } from './state.js';
import type { RepositoryReport } from './types.js';

export interface TagContext {
  readonly registry: Registry | null;
  readonly metadata: MetadataStore | null;
  readonly dryRun: boolean;
  readonly overwriteTags: boolean;
  /** When the import's last run set this repository's tags; a tag updated later was pushed to Wharf. */
  readonly importedAt: number | undefined;
  readonly count: (key: keyof ImportCounters) => void;
}

export async function importTags(repo: DistributionRepository, { revisions, schema1, failed }: Revisions, report: RepositoryReport, ctx: TagContext): Promise<void> {
  const name = repo.name;
  const wharfTags = new Map((ctx.metadata ? await ctx.metadata.listTagDetails(name) : []).map((t) => [t.name, t]));
  for (const [tag, digest] of repo.tags) {
    if (schema1.has(digest)) {
      report.tags.schema1++;
      continue;
    }
    if (!isValidTag(tag)) {
      report.problems.push(`tag ${JSON.stringify(tag)}: not a valid tag name`);
      continue;
    }
    const revision = revisions.get(digest);
    if (!revision || failed.has(digest)) {
      report.problems.push(
        repo.revisions.includes(digest)
          ? `tag ${tag}: not set, its manifest ${digest} could not be imported`
          : `tag ${tag}: points at ${digest}, which is not a manifest of the repository (Distribution cannot serve it either)`,
      );
      continue;
    }
    const current = wharfTags.get(tag);
    if (current?.digest === digest) {
      report.tags.present++;
      ctx.count('tagsPresent');
      continue;
    }
    if (current) {
      // Moved by the import's last run (the source moved it since): follow the source. Pushed to Wharf
      // directly (clients switched over already): that is the newer truth, keep it.
      const setByImport = ctx.importedAt !== undefined && current.updatedAt <= ctx.importedAt;
      if (!setByImport && !ctx.overwriteTags) {
        report.conflicts.push(`${tag} (Wharf: ${current.digest}, source: ${digest})`);
        continue;
      }
      report.tags.moved++;
    }
    if (!ctx.dryRun) await ctx.registry!.manifests.push(name, { digest }, revision.body, undefined, [tag]);
    report.tags.set++;
    ctx.count('tagsSet');
  }
}
