import assert from 'node:assert/strict';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteMetadataStore } from '../../../src/metadata/sqlite.js';
import { migrations } from '../../../src/metadata/sqlite-schema.js';
import { metadataStoreConformance } from './store-conformance.js';

metadataStoreConformance('sqlite file', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'wharf-sqlite-'));
  const store = new SqliteMetadataStore({ path: join(dir, 'wharf.db'), synchronous: 'normal' });
  return {
    store,
    openPeer: async () => new SqliteMetadataStore({ path: join(dir, 'wharf.db'), synchronous: 'normal' }),
    cleanup: async () => {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
});

metadataStoreConformance('sqlite in memory', async () => {
  const store = new SqliteMetadataStore({ path: ':memory:', synchronous: 'full' });
  return { store, cleanup: () => store.close() };
});

test('sqlite: opening a database from before the counters fills them from its rows', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'wharf-sqlite-counters-'));
  const path = join(dir, 'old.db');
  try {
    const old = new Database(path);
    for (const [version, sql] of migrations.slice(0, 4).entries()) {
      old.exec(sql);
      old.pragma(`user_version = ${version + 1}`);
    }
    old.exec(`INSERT INTO repositories (id, name, created_at) VALUES (1, 'r', 0), (2, 's', 0);
      INSERT INTO blobs (digest, size, created_at) VALUES ('sha256:a', 10, 0), ('sha256:b', 5, 0);
      INSERT INTO repository_blobs (repository_id, digest, created_at) VALUES (1, 'sha256:a', 0), (1, 'sha256:b', 0), (2, 'sha256:a', 0);
      INSERT INTO manifests (id, repository_id, digest, media_type, size, body, created_at) VALUES (1, 1, 'sha256:m', 'x', 1, x'00', 0);
      INSERT INTO tags (repository_id, name, manifest_digest, updated_at) VALUES (1, 'a', 'sha256:m', 0), (1, 'b', 'sha256:m', 0);`);
    old.close();
    const store = new SqliteMetadataStore({ path, synchronous: 'normal' });
    try {
      assert.deepEqual(await store.stats(), { repositories: 2, manifests: 1, blobs: 2, blobBytes: 15 });
      assert.deepEqual(await store.listRepositoryUsage({ limit: 10 }), [
        { name: 'r', blobs: 2, bytes: 15, manifests: 1, tags: 2 },
        { name: 's', blobs: 1, bytes: 10, manifests: 0, tags: 0 },
      ]);
    } finally {
      await store.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('sqlite: the WAL is copied into the database file by the checkpoint worker, and close leaves no WAL behind', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'wharf-sqlite-checkpoint-'));
  const path = join(dir, 'wharf.db');
  const store = new SqliteMetadataStore({ path, synchronous: 'normal' });
  try {
    const before = (await stat(path)).size;
    for (let i = 0; i < 2000; i++) await store.commitBlob('r', { digest: `sha256:${i.toString(16).padStart(64, '0')}`, size: i });
    // Commits no longer checkpoint (wal_autocheckpoint = 0): only the worker can have grown the file.
    while ((await stat(path)).size <= before) await new Promise((r) => setTimeout(r, 20));
  } finally {
    await store.close();
  }
  assert.equal(await stat(`${path}-wal`).catch(() => null), null);
  await rm(dir, { recursive: true, force: true });
});

test('sqlite: a GC pass recorded before the store kept the last pass in full survives the migration, its trigger unknown', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'wharf-sqlite-gc-totals-'));
  const path = join(dir, 'old.db');
  try {
    const old = new Database(path);
    const before = migrations.length - 1; // the last migration adds the last pass's details
    for (const [version, sql] of migrations.slice(0, before).entries()) {
      old.exec(sql);
      old.pragma(`user_version = ${version + 1}`);
    }
    old.exec('UPDATE gc_totals SET runs = 2, freed_bytes = 30, deleted_blobs = 3, deleted_manifests = 1, last_finished_at = 5000, last_freed_bytes = 10');
    old.close();
    const store = new SqliteMetadataStore({ path, synchronous: 'normal' });
    try {
      assert.deepEqual(await store.gcTotals(), {
        runs: 2, freedBytes: 30, deletedBlobs: 3, deletedManifests: 1,
        lastFinishedAt: 5000, lastFreedBytes: 10, lastDeletedBlobs: 0, lastDeletedManifests: 0, lastDurationMs: 0, lastTrigger: null,
      });
      await store.recordGcPass({ freedBytes: 1, deletedBlobs: 1, deletedManifests: 0, finishedAt: 6000, durationMs: 3, trigger: 'schedule' });
      assert.equal((await store.gcTotals()).lastTrigger, 'schedule');
    } finally {
      await store.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
