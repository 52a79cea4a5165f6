// Each entry is one migration, applied in order exactly once; never edit an entry that has shipped.
export const migrations: readonly string[] = [
  `
  CREATE TABLE repositories (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL
  );
  CREATE TABLE blobs (
    digest TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    created_at INTEGER NOT NULL
  ) WITHOUT ROWID;
  CREATE TABLE repository_blobs (
    repository_id INTEGER NOT NULL REFERENCES repositories(id) ON DELETE CASCADE,
    digest TEXT NOT NULL REFERENCES blobs(digest),
    created_at INTEGER NOT NULL,
    PRIMARY KEY (repository_id, digest)
  ) WITHOUT ROWID;
  CREATE INDEX repository_blobs_by_digest ON repository_blobs(digest);
  CREATE TABLE manifests (
    id INTEGER PRIMARY KEY,
    repository_id INTEGER NOT NULL REFERENCES repositories(id) ON DELETE CASCADE,
    digest TEXT NOT NULL,
    media_type TEXT NOT NULL,
    artifact_type TEXT,
    subject TEXT,
    annotations TEXT,
    size INTEGER NOT NULL,
    body BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    last_pulled_at INTEGER,
    UNIQUE (repository_id, digest)
  );
  CREATE INDEX manifests_by_subject ON manifests(repository_id, subject) WHERE subject IS NOT NULL;
  CREATE TABLE manifest_references (
    manifest_id INTEGER NOT NULL REFERENCES manifests(id) ON DELETE CASCADE,
    digest TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('blob', 'manifest')),
    PRIMARY KEY (manifest_id, digest)
  ) WITHOUT ROWID;
  CREATE INDEX manifest_references_by_digest ON manifest_references(digest);
  CREATE TABLE tags (
    repository_id INTEGER NOT NULL REFERENCES repositories(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    manifest_digest TEXT NOT NULL,
    updated_at INTEGER NOT NULL,
    last_pulled_at INTEGER,
    PRIMARY KEY (repository_id, name)
  ) WITHOUT ROWID;
  CREATE INDEX tags_by_manifest ON tags(repository_id, manifest_digest);
  CREATE TABLE uploads (
    id TEXT PRIMARY KEY,
    repository TEXT NOT NULL,
    algorithm TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
  ) WITHOUT ROWID;
  CREATE INDEX uploads_by_updated ON uploads(updated_at);
  `,
  `
  CREATE TABLE events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    repository TEXT NOT NULL,
    payload TEXT NOT NULL,
    created_at INTEGER NOT NULL
  );
  CREATE TABLE deliveries (
    endpoint TEXT NOT NULL,
    event_id INTEGER NOT NULL REFERENCES events(id) ON DELETE CASCADE,
    repository TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'dead')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    last_error TEXT,
    PRIMARY KEY (endpoint, event_id)
  ) WITHOUT ROWID;
  CREATE INDEX deliveries_queue ON deliveries(endpoint, status, repository, event_id);
  `,
];
