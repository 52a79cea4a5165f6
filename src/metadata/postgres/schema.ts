// The PostgreSQL schema, as versioned migrations: each entry is applied once, in order, in its own transaction, and
// never edited once shipped. It mirrors the SQLite schema's final state (src/metadata/sqlite-schema.ts): the same
// tables, the same trigger-kept GC review queues and usage counters, so both stores answer the one contract.
//
// Text that is ordered or paged (names, digests) is COLLATE "C": pages follow byte order, as the API and the
// SQLite store do, whatever collation the database was created with.

/** The store's totals are spread over this many rows, picked by backend, so concurrent writers do not queue on one. */
export const totalsSlots = 16;

const slot = `pg_backend_pid() % ${totalsSlots}`;

export const postgresMigrations: readonly string[] = [
  `
  CREATE TABLE repositories (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name text COLLATE "C" NOT NULL UNIQUE,
    created_at bigint NOT NULL,
    blob_count bigint NOT NULL DEFAULT 0,
    blob_bytes bigint NOT NULL DEFAULT 0,
    manifest_count bigint NOT NULL DEFAULT 0,
    tag_count bigint NOT NULL DEFAULT 0,
    -- Deletion renames the row out of the namespace and hides it at once; its contents go in bounded batches.
    deleted boolean NOT NULL DEFAULT false
  );
  CREATE TABLE blobs (
    digest text COLLATE "C" PRIMARY KEY,
    size bigint NOT NULL,
    created_at bigint NOT NULL
  );
  CREATE TABLE repository_blobs (
    repository_id bigint NOT NULL REFERENCES repositories(id) ON DELETE CASCADE,
    digest text COLLATE "C" NOT NULL REFERENCES blobs(digest),
    created_at bigint NOT NULL,
    PRIMARY KEY (repository_id, digest)
  );
  CREATE INDEX repository_blobs_by_digest ON repository_blobs(digest);
  CREATE TABLE manifests (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    repository_id bigint NOT NULL REFERENCES repositories(id) ON DELETE CASCADE,
    digest text COLLATE "C" NOT NULL,
    media_type text NOT NULL,
    artifact_type text,
    subject text COLLATE "C",
    annotations text,
    size bigint NOT NULL,
    body bytea NOT NULL,
    created_at bigint NOT NULL,
    last_pulled_at bigint,
    UNIQUE (repository_id, digest)
  );
  CREATE INDEX manifests_by_subject ON manifests(repository_id, subject) WHERE subject IS NOT NULL;
  CREATE TABLE manifest_references (
    manifest_id bigint NOT NULL REFERENCES manifests(id) ON DELETE CASCADE,
    digest text COLLATE "C" NOT NULL,
    kind text NOT NULL CHECK (kind IN ('blob', 'manifest')),
    PRIMARY KEY (manifest_id, digest)
  );
  CREATE INDEX manifest_references_by_digest ON manifest_references(digest);
  CREATE TABLE tags (
    repository_id bigint NOT NULL REFERENCES repositories(id) ON DELETE CASCADE,
    name text COLLATE "C" NOT NULL,
    manifest_digest text COLLATE "C" NOT NULL,
    updated_at bigint NOT NULL,
    last_pulled_at bigint,
    PRIMARY KEY (repository_id, name)
  );
  CREATE INDEX tags_by_manifest ON tags(repository_id, manifest_digest);
  CREATE TABLE uploads (
    id text PRIMARY KEY,
    repository text NOT NULL,
    algorithm text NOT NULL,
    size bigint NOT NULL DEFAULT 0,
    created_at bigint NOT NULL,
    updated_at bigint NOT NULL
  );
  CREATE INDEX uploads_by_updated ON uploads(updated_at);
  CREATE INDEX uploads_by_repository ON uploads(repository);

  CREATE TABLE events (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    repository text NOT NULL,
    payload text NOT NULL,
    created_at bigint NOT NULL
  );
  CREATE TABLE deliveries (
    endpoint text NOT NULL,
    event_id bigint NOT NULL REFERENCES events(id) ON DELETE CASCADE,
    repository text NOT NULL,
    status text NOT NULL CHECK (status IN ('pending', 'dead')),
    attempts integer NOT NULL DEFAULT 0,
    next_attempt_at bigint NOT NULL,
    last_error text,
    PRIMARY KEY (endpoint, event_id)
  );
  CREATE INDEX deliveries_queue ON deliveries(endpoint, status, repository, event_id);

  CREATE TABLE gc_blob_review (digest text COLLATE "C" PRIMARY KEY, review_after bigint NOT NULL);
  CREATE INDEX gc_blob_review_due ON gc_blob_review(review_after);
  CREATE TABLE gc_manifest_review (
    repository_id bigint NOT NULL,
    digest text COLLATE "C" NOT NULL,
    review_after bigint NOT NULL,
    PRIMARY KEY (repository_id, digest)
  );
  CREATE INDEX gc_manifest_review_due ON gc_manifest_review(review_after);
  CREATE TABLE blob_leases (digest text COLLATE "C" PRIMARY KEY, owner text NOT NULL, expires_at bigint NOT NULL);
  -- Blobs whose record GC removed but whose bytes it may not have deleted yet (it crashed in between).
  CREATE TABLE gc_pending_deletions (digest text COLLATE "C" PRIMARY KEY);

  CREATE TABLE store_totals (
    slot integer PRIMARY KEY,
    repositories bigint NOT NULL DEFAULT 0,
    manifests bigint NOT NULL DEFAULT 0,
    blobs bigint NOT NULL DEFAULT 0,
    blob_bytes bigint NOT NULL DEFAULT 0
  );
  INSERT INTO store_totals (slot) SELECT generate_series(0, ${totalsSlots - 1});

  -- The triggers keep the review queues and the counters in the transaction of the change they follow.
  CREATE FUNCTION wharf_blob_added() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
    INSERT INTO gc_blob_review (digest, review_after) VALUES (NEW.digest, NEW.created_at) ON CONFLICT DO NOTHING;
    UPDATE store_totals SET blobs = blobs + 1, blob_bytes = blob_bytes + NEW.size WHERE slot = ${slot};
    RETURN NULL;
  END $$;
  CREATE TRIGGER blob_added AFTER INSERT ON blobs FOR EACH ROW EXECUTE FUNCTION wharf_blob_added();

  CREATE FUNCTION wharf_blob_removed() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
    UPDATE store_totals SET blobs = blobs - 1, blob_bytes = blob_bytes - OLD.size WHERE slot = ${slot};
    RETURN NULL;
  END $$;
  CREATE TRIGGER blob_removed AFTER DELETE ON blobs FOR EACH ROW EXECUTE FUNCTION wharf_blob_removed();

  CREATE FUNCTION wharf_blob_linked() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
    UPDATE repositories SET blob_count = blob_count + 1,
      blob_bytes = blob_bytes + (SELECT size FROM blobs WHERE digest = NEW.digest) WHERE id = NEW.repository_id;
    RETURN NULL;
  END $$;
  CREATE TRIGGER blob_linked AFTER INSERT ON repository_blobs FOR EACH ROW EXECUTE FUNCTION wharf_blob_linked();

  CREATE FUNCTION wharf_blob_unlinked() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
    INSERT INTO gc_blob_review (digest, review_after) VALUES (OLD.digest, 0) ON CONFLICT DO NOTHING;
    UPDATE repositories SET blob_count = blob_count - 1,
      blob_bytes = blob_bytes - coalesce((SELECT size FROM blobs WHERE digest = OLD.digest), 0) WHERE id = OLD.repository_id;
    RETURN NULL;
  END $$;
  CREATE TRIGGER blob_unlinked AFTER DELETE ON repository_blobs FOR EACH ROW EXECUTE FUNCTION wharf_blob_unlinked();

  CREATE FUNCTION wharf_reference_dropped() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
    INSERT INTO gc_blob_review (digest, review_after) VALUES (OLD.digest, 0) ON CONFLICT DO NOTHING;
    RETURN NULL;
  END $$;
  CREATE TRIGGER reference_dropped AFTER DELETE ON manifest_references FOR EACH ROW WHEN (OLD.kind = 'blob')
    EXECUTE FUNCTION wharf_reference_dropped();

  CREATE FUNCTION wharf_manifest_added() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
    INSERT INTO gc_manifest_review (repository_id, digest, review_after) VALUES (NEW.repository_id, NEW.digest, NEW.created_at)
      ON CONFLICT DO NOTHING;
    UPDATE repositories SET manifest_count = manifest_count + 1 WHERE id = NEW.repository_id;
    UPDATE store_totals SET manifests = manifests + 1 WHERE slot = ${slot};
    RETURN NULL;
  END $$;
  CREATE TRIGGER manifest_added AFTER INSERT ON manifests FOR EACH ROW EXECUTE FUNCTION wharf_manifest_added();

  -- BEFORE: the manifest's references still exist here (the cascade removes them after the row).
  CREATE FUNCTION wharf_manifest_deleting() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
    INSERT INTO gc_manifest_review (repository_id, digest, review_after)
      SELECT OLD.repository_id, digest, 0 FROM manifest_references WHERE manifest_id = OLD.id AND kind = 'manifest'
      ON CONFLICT DO NOTHING;
    INSERT INTO gc_manifest_review (repository_id, digest, review_after)
      SELECT repository_id, digest, 0 FROM manifests WHERE repository_id = OLD.repository_id AND subject = OLD.digest
      ON CONFLICT DO NOTHING;
    RETURN OLD;
  END $$;
  CREATE TRIGGER manifest_deleting BEFORE DELETE ON manifests FOR EACH ROW EXECUTE FUNCTION wharf_manifest_deleting();

  CREATE FUNCTION wharf_manifest_removed() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
    UPDATE repositories SET manifest_count = manifest_count - 1 WHERE id = OLD.repository_id;
    UPDATE store_totals SET manifests = manifests - 1 WHERE slot = ${slot};
    RETURN NULL;
  END $$;
  CREATE TRIGGER manifest_removed AFTER DELETE ON manifests FOR EACH ROW EXECUTE FUNCTION wharf_manifest_removed();

  CREATE FUNCTION wharf_tag_added() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
    UPDATE repositories SET tag_count = tag_count + 1 WHERE id = NEW.repository_id;
    RETURN NULL;
  END $$;
  CREATE TRIGGER tag_added AFTER INSERT ON tags FOR EACH ROW EXECUTE FUNCTION wharf_tag_added();

  -- A tag deleted or moved away: the manifest it pointed at may now be garbage.
  CREATE FUNCTION wharf_tag_left() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
    INSERT INTO gc_manifest_review (repository_id, digest, review_after) VALUES (OLD.repository_id, OLD.manifest_digest, 0)
      ON CONFLICT DO NOTHING;
    IF TG_OP = 'DELETE' THEN
      UPDATE repositories SET tag_count = tag_count - 1 WHERE id = OLD.repository_id;
    END IF;
    RETURN NULL;
  END $$;
  CREATE TRIGGER tag_removed AFTER DELETE ON tags FOR EACH ROW EXECUTE FUNCTION wharf_tag_left();
  CREATE TRIGGER tag_moved AFTER UPDATE OF manifest_digest ON tags FOR EACH ROW
    WHEN (OLD.manifest_digest <> NEW.manifest_digest) EXECUTE FUNCTION wharf_tag_left();

  CREATE FUNCTION wharf_repository_added() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
    UPDATE store_totals SET repositories = repositories + 1 WHERE slot = ${slot};
    RETURN NULL;
  END $$;
  CREATE TRIGGER repository_added AFTER INSERT ON repositories FOR EACH ROW EXECUTE FUNCTION wharf_repository_added();

  CREATE FUNCTION wharf_repository_gone() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
    UPDATE store_totals SET repositories = repositories - 1 WHERE slot = ${slot};
    RETURN NULL;
  END $$;
  CREATE TRIGGER repository_deleted AFTER UPDATE OF deleted ON repositories FOR EACH ROW
    WHEN (NEW.deleted AND NOT OLD.deleted) EXECUTE FUNCTION wharf_repository_gone();
  CREATE TRIGGER repository_dropped AFTER DELETE ON repositories FOR EACH ROW WHEN (NOT OLD.deleted)
    EXECUTE FUNCTION wharf_repository_gone();
  `,
  // GC pass totals in the store, so a `wharf gc` run from the CLI (or on another node) counts in every node's metrics.
  `
  CREATE TABLE gc_totals (
    id integer PRIMARY KEY CHECK (id = 1),
    runs bigint NOT NULL,
    freed_bytes bigint NOT NULL,
    deleted_blobs bigint NOT NULL,
    deleted_manifests bigint NOT NULL,
    last_finished_at bigint,
    last_freed_bytes bigint NOT NULL
  );
  INSERT INTO gc_totals (id, runs, freed_bytes, deleted_blobs, deleted_manifests, last_finished_at, last_freed_bytes) VALUES (1, 0, 0, 0, 0, NULL, 0);
  `,
  // The last pass in full (what it deleted, how long it took, what started it): the store is the one record of GC
  // that `wharf status` and the UI read, shared by every node and by `wharf gc`.
  `
  ALTER TABLE gc_totals
    ADD COLUMN last_deleted_blobs bigint NOT NULL DEFAULT 0,
    ADD COLUMN last_deleted_manifests bigint NOT NULL DEFAULT 0,
    ADD COLUMN last_duration_ms bigint NOT NULL DEFAULT 0,
    ADD COLUMN last_trigger text CHECK (last_trigger IN ('schedule', 'cli', 'ui'));
  `,
  // Several dispatchers (nodes) on one outbox: a queue head is claimed by one until it is settled or the claim
  // expires. Cluster-wide background jobs (GC, upload purge, scrub) run under a lease, one holder at a time.
  // Both expire by the database's clock (milliseconds since the epoch), which every node shares.
  `
  ALTER TABLE deliveries ADD COLUMN claimed_by text, ADD COLUMN claimed_until bigint NOT NULL DEFAULT 0;
  CREATE TABLE job_leases (job text PRIMARY KEY, holder text NOT NULL, expires_at bigint NOT NULL);
  `,
];
