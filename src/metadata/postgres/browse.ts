// The web UI's reads on PostgreSQL, the same shape as SQLite's: names alone in the requested order (the policy filter
// runs on them as they pass), then sizes, counts and times for the rows of the page only.
import { pageOfVisible, type BrowseStore, type RepositoryListing, type RepositoryQuery, type RepositorySort, type RepositorySummary, type TagSummary } from '../browse.js';
import { statements, type Db } from './db.js';
import { indexMediaTypes, toRepositorySummary, toTagSummary, type RepositorySummaryRow, type TagSummaryRow } from '../rows.js';

const latest = (column: string) =>
  `greatest(coalesce((SELECT max(${column}) FROM tags t WHERE t.repository_id = r.id), 0),
            coalesce((SELECT max(${column === 'updated_at' ? 'created_at' : column}) FROM manifests m WHERE m.repository_id = r.id), 0))`;

// What each sort orders by; name breaks ties, so a page boundary never splits or repeats equal rows.
const sortKey: Record<RepositorySort, string | null> = {
  name: null,
  pushed: latest('updated_at'),
  pulled: latest('last_pulled_at'),
  size: 'r.blob_bytes',
  tags: 'r.tag_count',
};

const ordered: Record<string, string> = {};
for (const [sort, key] of Object.entries(sortKey)) {
  for (const dir of ['ASC', 'DESC']) {
    const order = key === null ? `r.name ${dir}` : `${key} ${dir}, r.name ${dir}`;
    ordered[`${sort}_${dir}`] = `SELECT r.name FROM repositories r WHERE NOT r.deleted AND strpos(lower(r.name), $1) > 0 ORDER BY ${order}`;
  }
}

const sql = statements('browse', {
  ...ordered,
  details: `
    SELECT r.name, r.blob_bytes AS bytes, r.tag_count AS tags, r.manifest_count AS manifests,
      ${latest('updated_at')} AS pushed_at, ${latest('last_pulled_at')} AS pulled_at
    FROM repositories r WHERE r.name = $1 AND NOT r.deleted`,
  exists: 'SELECT id FROM repositories WHERE name = $1 AND NOT deleted',
  tags: `
    SELECT t.name, t.manifest_digest AS digest, m.media_type, m.artifact_type, m.size, t.updated_at AS pushed_at,
      greatest(coalesce(t.last_pulled_at, 0), coalesce(m.last_pulled_at, 0)) AS pulled_at,
      CASE WHEN m.media_type IN (${indexMediaTypes.map((t) => `'${t}'`).join(', ')}) THEN m.body END AS body,
      (SELECT coalesce(sum(b.size), 0) FROM blobs b WHERE b.digest IN (
         SELECT mr.digest FROM manifest_references mr WHERE mr.manifest_id = m.id AND mr.kind = 'blob'
         UNION
         SELECT cr.digest FROM manifest_references mr
           JOIN manifests c ON c.repository_id = m.repository_id AND c.digest = mr.digest
           JOIN manifest_references cr ON cr.manifest_id = c.id AND cr.kind = 'blob'
         WHERE mr.manifest_id = m.id AND mr.kind = 'manifest')) AS content_size,
      (SELECT string_agg(DISTINCT coalesce(s.artifact_type, ''), ',') FROM manifests s
         WHERE s.repository_id = m.repository_id AND s.subject = m.digest) AS referrer_types
    FROM repositories repo
      JOIN tags t ON t.repository_id = repo.id
      JOIN manifests m ON m.repository_id = t.repository_id AND m.digest = t.manifest_digest
    WHERE repo.name = $1 AND NOT repo.deleted
    ORDER BY t.name`,
});

export class PostgresBrowse implements BrowseStore {
  constructor(private readonly db: Db) {}

  async browseRepositories(query: RepositoryQuery, visible: ((name: string) => boolean) | null): Promise<RepositoryListing> {
    const statement = sql[`${query.sort}_${query.descending ? 'DESC' : 'ASC'}` as keyof typeof sql];
    const names = await this.db.rows<{ name: string }>(statement, [query.search.toLowerCase()]);
    const { page, total } = pageOfVisible(names.map((row) => row.name), query, visible);
    const items: RepositorySummary[] = [];
    for (const name of page) {
      const [row] = await this.db.rows<RepositorySummaryRow>(sql.details, [name]);
      if (row) items.push(toRepositorySummary(row));
    }
    return { total, items };
  }

  async browseTags(repository: string): Promise<TagSummary[] | null> {
    if ((await this.db.rows(sql.exists, [repository])).length === 0) return null;
    const rows = await this.db.rows<TagSummaryRow>(sql.tags, [repository]);
    return rows.map(toTagSummary);
  }
}
