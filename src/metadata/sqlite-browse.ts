// The web UI's reads on SQLite. The repository list streams names alone in the requested order; the policy filter
// runs on them as they pass, and sizes, counts and times are read for the rows of the page only, so a list of
// 10,000 repositories costs one ordered scan of names and fifty lookups, never a summary of every repository.
import type Database from 'better-sqlite3';
import { pageOfVisible, type BrowseStore, type RepositoryListing, type RepositoryQuery, type RepositorySort, type TagSummary } from './browse.js';
import { indexMediaTypes, toRepositorySummary, toTagSummary, type RepositorySummaryRow, type TagSummaryRow } from './rows.js';

const latest = (column: string) =>
  `max(coalesce((SELECT max(${column}) FROM tags t WHERE t.repository_id = r.id), 0),
       coalesce((SELECT max(${column === 'updated_at' ? 'created_at' : column}) FROM manifests m WHERE m.repository_id = r.id), 0))`;

// What each sort orders by; name breaks ties, so a page boundary never splits or repeats equal rows.
const sortKey: Record<RepositorySort, string | null> = {
  name: null,
  pushed: latest('updated_at'),
  pulled: latest('last_pulled_at'),
  size: 'r.blob_bytes',
  tags: 'r.tag_count',
};

const details = `
  SELECT r.name AS name, r.blob_bytes AS bytes, r.tag_count AS tags, r.manifest_count AS manifests,
    ${latest('updated_at')} AS pushed_at, ${latest('last_pulled_at')} AS pulled_at
  FROM repositories r WHERE r.name = ? AND r.deleted = 0`;

export class SqliteBrowse implements BrowseStore {
  private readonly ordered = new Map<string, Database.Statement<[string], string>>();
  private readonly details: Database.Statement<[string], RepositorySummaryRow>;
  private readonly tags: Database.Statement<[string], TagSummaryRow>;
  private readonly exists: Database.Statement<[string], { id: number }>;

  constructor(db: Database.Database) {
    // Names only, in order: the page's details are read for its rows alone, not for every repository.
    for (const [sort, key] of Object.entries(sortKey)) {
      for (const dir of ['ASC', 'DESC']) {
        const order = key === null ? `r.name ${dir}` : `${key} ${dir}, r.name ${dir}`;
        const sql = `SELECT r.name FROM repositories r WHERE r.deleted = 0 AND instr(lower(r.name), ?) > 0 ORDER BY ${order}`;
        this.ordered.set(`${sort} ${dir}`, db.prepare<[string], string>(sql).pluck());
      }
    }
    this.details = db.prepare(details);
    this.exists = db.prepare('SELECT id FROM repositories WHERE name = ? AND deleted = 0');
    this.tags = db.prepare(`
      SELECT t.name AS name, t.manifest_digest AS digest, m.media_type AS media_type, m.artifact_type AS artifact_type,
        m.size AS size, t.updated_at AS pushed_at, max(coalesce(t.last_pulled_at, 0), coalesce(m.last_pulled_at, 0)) AS pulled_at,
        CASE WHEN m.media_type IN (${indexMediaTypes.map((t) => `'${t}'`).join(', ')}) THEN m.body END AS body,
        (SELECT coalesce(sum(b.size), 0) FROM blobs b WHERE b.digest IN (
           SELECT r.digest FROM manifest_references r WHERE r.manifest_id = m.id AND r.kind = 'blob'
           UNION
           SELECT cr.digest FROM manifest_references r
             JOIN manifests c ON c.repository_id = m.repository_id AND c.digest = r.digest
             JOIN manifest_references cr ON cr.manifest_id = c.id AND cr.kind = 'blob'
           WHERE r.manifest_id = m.id AND r.kind = 'manifest')) AS content_size,
        (SELECT group_concat(DISTINCT coalesce(s.artifact_type, '')) FROM manifests s
           WHERE s.repository_id = m.repository_id AND s.subject = m.digest) AS referrer_types
      FROM repositories repo
        JOIN tags t ON t.repository_id = repo.id
        JOIN manifests m ON m.repository_id = t.repository_id AND m.digest = t.manifest_digest
      WHERE repo.name = ? AND repo.deleted = 0
      ORDER BY t.name`);
  }

  async browseRepositories(query: RepositoryQuery, visible: ((name: string) => boolean) | null): Promise<RepositoryListing> {
    const statement = this.ordered.get(`${query.sort} ${query.descending ? 'DESC' : 'ASC'}`)!;
    const { page, total } = pageOfVisible(statement.iterate(query.search.toLowerCase()), query, visible);
    const items = page.flatMap((name) => {
      const row = this.details.get(name);
      return row ? [toRepositorySummary(row)] : [];
    });
    return { total, items };
  }

  async browseTags(repository: string): Promise<TagSummary[] | null> {
    if (!this.exists.get(repository)) return null;
    return this.tags.all(repository).map(toTagSummary);
  }
}
