// What the web UI reads that the distribution API never needs: repositories with their sizes and times, searched,
// sorted and paged by the store; tags with the manifest each points at and what that manifest holds.

export type RepositorySort = 'name' | 'pushed' | 'pulled' | 'size' | 'tags';

export interface RepositoryQuery {
  /** Substring of the name (case-insensitive); empty: every repository. */
  readonly search: string;
  readonly sort: RepositorySort;
  readonly descending: boolean;
  readonly offset: number;
  readonly limit: number;
}

export interface RepositorySummary {
  readonly name: string;
  /** Distinct blob bytes linked to the repository (what a quota counts). */
  readonly bytes: number;
  readonly tags: number;
  readonly manifests: number;
  /** Latest tag push or manifest push; null for a repository that holds none. */
  readonly pushedAt: number | null;
  readonly pulledAt: number | null;
}

export interface RepositoryListing {
  /** Matching repositories the caller may see (not just this page). */
  readonly total: number;
  readonly items: readonly RepositorySummary[];
}

export interface TagSummary {
  readonly name: string;
  readonly digest: string;
  readonly mediaType: string;
  readonly artifactType: string | null;
  /** The manifest's own bytes. */
  readonly manifestSize: number;
  /** Distinct blob bytes the manifest needs, through its children for an index (compressed, deduplicated). */
  readonly contentSize: number;
  readonly pushedAt: number;
  readonly pulledAt: number | null;
  /** The manifest's body when it is an index (to read its platforms); null otherwise. */
  readonly indexBody: Buffer | null;
  /** Artifact types of the manifests whose subject this one is ('' for one without a type). */
  readonly referrerTypes: readonly string[];
}

export interface BrowseStore {
  /**
   * Repositories matching the query in its order; `visible` filters what the caller may see before paging, so the
   * page and the total count only those.
   */
  browseRepositories(query: RepositoryQuery, visible: ((name: string) => boolean) | null): Promise<RepositoryListing>;
  /** Every tag of the repository in name order; null when the repository does not exist. */
  browseTags(repository: string): Promise<TagSummary[] | null>;
}

/**
 * The page of `names` (in the store's order) that the caller may see, and how many they may see in all: the policy
 * filter runs on each name as it passes, so the page and the total count only visible repositories.
 */
export function pageOfVisible(
  names: Iterable<string>,
  query: Pick<RepositoryQuery, 'offset' | 'limit'>,
  visible: ((name: string) => boolean) | null,
): { page: string[]; total: number } {
  const page: string[] = [];
  let total = 0;
  for (const name of names) {
    if (visible && !visible(name)) continue;
    if (total >= query.offset && page.length < query.limit) page.push(name);
    total++;
  }
  return { page, total };
}
