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
  // (Trigger inserts use UPSERT: an outer statement's conflict policy would override OR IGNORE inside a trigger.)
  // Online GC: review queues kept by triggers, so a GC pass only looks at what changed since the last one.
  `
  CREATE TABLE gc_blob_review (digest TEXT PRIMARY KEY, review_after INTEGER NOT NULL) WITHOUT ROWID;
  CREATE INDEX gc_blob_review_due ON gc_blob_review(review_after);
  CREATE TABLE gc_manifest_review (
    repository_id INTEGER NOT NULL,
    digest TEXT NOT NULL,
    review_after INTEGER NOT NULL,
    PRIMARY KEY (repository_id, digest)
  ) WITHOUT ROWID;
  CREATE INDEX gc_manifest_review_due ON gc_manifest_review(review_after);
  CREATE TABLE blob_leases (digest TEXT PRIMARY KEY, owner TEXT NOT NULL, expires_at INTEGER NOT NULL) WITHOUT ROWID;
  -- Blobs whose record GC removed but whose bytes it may not have deleted yet (it crashed in between).
  CREATE TABLE gc_pending_deletions (digest TEXT PRIMARY KEY) WITHOUT ROWID;

  CREATE TRIGGER gc_new_blob AFTER INSERT ON blobs BEGIN
    INSERT INTO gc_blob_review (digest, review_after) VALUES (NEW.digest, NEW.created_at) ON CONFLICT DO NOTHING;
  END;
  CREATE TRIGGER gc_blob_unlinked AFTER DELETE ON repository_blobs BEGIN
    INSERT INTO gc_blob_review (digest, review_after) VALUES (OLD.digest, 0) ON CONFLICT DO NOTHING;
  END;
  CREATE TRIGGER gc_reference_dropped AFTER DELETE ON manifest_references WHEN OLD.kind = 'blob' BEGIN
    INSERT INTO gc_blob_review (digest, review_after) VALUES (OLD.digest, 0) ON CONFLICT DO NOTHING;
  END;
  CREATE TRIGGER gc_new_manifest AFTER INSERT ON manifests BEGIN
    INSERT INTO gc_manifest_review (repository_id, digest, review_after) VALUES (NEW.repository_id, NEW.digest, NEW.created_at) ON CONFLICT DO NOTHING;
  END;
  -- BEFORE: the manifest's references still exist here, whatever order the cascade deletes them in.
  CREATE TRIGGER gc_manifest_deleted BEFORE DELETE ON manifests BEGIN
    INSERT INTO gc_manifest_review (repository_id, digest, review_after)
      SELECT OLD.repository_id, digest, 0 FROM manifest_references WHERE manifest_id = OLD.id AND kind = 'manifest' ON CONFLICT DO NOTHING;
    INSERT INTO gc_manifest_review (repository_id, digest, review_after)
      SELECT repository_id, digest, 0 FROM manifests WHERE repository_id = OLD.repository_id AND subject = OLD.digest ON CONFLICT DO NOTHING;
  END;
  CREATE TRIGGER gc_tag_deleted AFTER DELETE ON tags BEGIN
    INSERT INTO gc_manifest_review (repository_id, digest, review_after) VALUES (OLD.repository_id, OLD.manifest_digest, 0) ON CONFLICT DO NOTHING;
  END;
  CREATE TRIGGER gc_tag_moved AFTER UPDATE OF manifest_digest ON tags WHEN OLD.manifest_digest <> NEW.manifest_digest BEGIN
    INSERT INTO gc_manifest_review (repository_id, digest, review_after) VALUES (OLD.repository_id, OLD.manifest_digest, 0) ON CONFLICT DO NOTHING;
  END;
  INSERT INTO gc_blob_review (digest, review_after) SELECT digest, created_at FROM blobs WHERE true ON CONFLICT DO NOTHING;
  INSERT INTO gc_manifest_review (repository_id, digest, review_after) SELECT repository_id, digest, created_at FROM manifests WHERE true ON CONFLICT DO NOTHING;
  `,
  // Quotas: each repository's distinct blob bytes kept with the links (reading usage is one row, not a join over
  // every link), and each upload session's staged bytes, so sessions count toward usage and can be capped.
  `
  ALTER TABLE repositories ADD COLUMN blob_count INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE repositories ADD COLUMN blob_bytes INTEGER NOT NULL DEFAULT 0;
  UPDATE repositories SET
    blob_count = (SELECT count(*) FROM repository_blobs rb WHERE rb.repository_id = repositories.id),
    blob_bytes = (SELECT coalesce(sum(b.size), 0) FROM repository_blobs rb JOIN blobs b ON b.digest = rb.digest WHERE rb.repository_id = repositories.id);
  CREATE TRIGGER usage_blob_linked AFTER INSERT ON repository_blobs BEGIN
    UPDATE repositories SET blob_count = blob_count + 1,
      blob_bytes = blob_bytes + (SELECT size FROM blobs WHERE digest = NEW.digest) WHERE id = NEW.repository_id;
  END;
  CREATE TRIGGER usage_blob_unlinked AFTER DELETE ON repository_blobs BEGIN
    UPDATE repositories SET blob_count = blob_count - 1,
      blob_bytes = blob_bytes - coalesce((SELECT size FROM blobs WHERE digest = OLD.digest), 0) WHERE id = OLD.repository_id;
  END;
  ALTER TABLE uploads ADD COLUMN size INTEGER NOT NULL DEFAULT 0;
  CREATE INDEX uploads_by_repository ON uploads(repository);
  `,
  // Every count a request or a scrape reads, kept with the data (never a count(*) over a table), and repository
  // deletion in two steps: the row is renamed out of the namespace and hidden at once (deleted = 1), and its
  // contents go afterwards in bounded transactions, so deleting a huge repository never holds the writer long.
  `
  ALTER TABLE repositories ADD COLUMN manifest_count INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE repositories ADD COLUMN tag_count INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE repositories ADD COLUMN deleted INTEGER NOT NULL DEFAULT 0;
  UPDATE repositories SET
    manifest_count = (SELECT count(*) FROM manifests m WHERE m.repository_id = repositories.id),
    tag_count = (SELECT count(*) FROM tags t WHERE t.repository_id = repositories.id);
  CREATE TABLE store_totals (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    repositories INTEGER NOT NULL,
    manifests INTEGER NOT NULL,
    blobs INTEGER NOT NULL,
    blob_bytes INTEGER NOT NULL
  );
  INSERT INTO store_totals (id, repositories, manifests, blobs, blob_bytes) SELECT 1,
    (SELECT count(*) FROM repositories), (SELECT count(*) FROM manifests), (SELECT count(*) FROM blobs), (SELECT coalesce(sum(size), 0) FROM blobs);

  CREATE TRIGGER totals_repository_added AFTER INSERT ON repositories BEGIN
    UPDATE store_totals SET repositories = repositories + 1;
  END;
  CREATE TRIGGER totals_repository_deleted AFTER UPDATE OF deleted ON repositories WHEN NEW.deleted <> 0 AND OLD.deleted = 0 BEGIN
    UPDATE store_totals SET repositories = repositories - 1;
  END;
  CREATE TRIGGER totals_repository_dropped AFTER DELETE ON repositories WHEN OLD.deleted = 0 BEGIN
    UPDATE store_totals SET repositories = repositories - 1;
  END;
  CREATE TRIGGER usage_manifest_added AFTER INSERT ON manifests BEGIN
    UPDATE repositories SET manifest_count = manifest_count + 1 WHERE id = NEW.repository_id;
    UPDATE store_totals SET manifests = manifests + 1;
  END;
  CREATE TRIGGER usage_manifest_removed AFTER DELETE ON manifests BEGIN
    UPDATE repositories SET manifest_count = manifest_count - 1 WHERE id = OLD.repository_id;
    UPDATE store_totals SET manifests = manifests - 1;
  END;
  CREATE TRIGGER usage_tag_added AFTER INSERT ON tags BEGIN
    UPDATE repositories SET tag_count = tag_count + 1 WHERE id = NEW.repository_id;
  END;
  CREATE TRIGGER usage_tag_removed AFTER DELETE ON tags BEGIN
    UPDATE repositories SET tag_count = tag_count - 1 WHERE id = OLD.repository_id;
  END;
  CREATE TRIGGER totals_blob_added AFTER INSERT ON blobs BEGIN
    UPDATE store_totals SET blobs = blobs + 1, blob_bytes = blob_bytes + NEW.size;
  END;
  CREATE TRIGGER totals_blob_removed AFTER DELETE ON blobs BEGIN
    UPDATE store_totals SET blobs = blobs - 1, blob_bytes = blob_bytes - OLD.size;
  END;
  `,
  // An event's deliveries by event: the export reads them per event, and marking one delivered asks whether the
  // event has others (and the cascade from events looks them up): without it each of those scans every delivery.
  `
  CREATE INDEX deliveries_by_event ON deliveries(event_id);
  `,
  // GC pass totals in the store, not in one process's counters: a `wharf gc` run from the CLI shows in the
  // server's metrics like a scheduled pass.
  `
  CREATE TABLE gc_totals (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    runs INTEGER NOT NULL,
    freed_bytes INTEGER NOT NULL,
    deleted_blobs INTEGER NOT NULL,
    deleted_manifests INTEGER NOT NULL,
    last_finished_at INTEGER,
    last_freed_bytes INTEGER NOT NULL
  );
  INSERT INTO gc_totals (id, runs, freed_bytes, deleted_blobs, deleted_manifests, last_finished_at, last_freed_bytes) VALUES (1, 0, 0, 0, 0, NULL, 0);
  `,
  // The last pass in full (what it deleted, how long it took, what started it): the store is the one record of GC
  // that `wharf status` and the UI read, so it survives restarts and shows passes run by `wharf gc`.
  `
  ALTER TABLE gc_totals ADD COLUMN last_deleted_blobs INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE gc_totals ADD COLUMN last_deleted_manifests INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE gc_totals ADD COLUMN last_duration_ms INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE gc_totals ADD COLUMN last_trigger TEXT CHECK (last_trigger IN ('schedule', 'cli', 'ui'));
  `,
  // Several dispatchers (nodes) on one outbox: a queue head is claimed by one until it is settled or the claim
  // expires. Cluster-wide background jobs (GC, upload purge, scrub) run under a lease, one holder at a time.
  `
  ALTER TABLE deliveries ADD COLUMN claimed_by TEXT;
  ALTER TABLE deliveries ADD COLUMN claimed_until INTEGER NOT NULL DEFAULT 0;
  CREATE TABLE job_leases (job TEXT PRIMARY KEY, holder TEXT NOT NULL, expires_at INTEGER NOT NULL) WITHOUT ROWID;
  `,
];
