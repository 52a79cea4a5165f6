import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteMetadataStore } from '../../../src/metadata/sqlite.js';
import { metadataStoreConformance } from './store-conformance.js';

metadataStoreConformance('sqlite file', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'wharf-sqlite-'));
  const store = new SqliteMetadataStore({ path: join(dir, 'wharf.db'), synchronous: 'normal' });
  return {
    store,
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

test('sqlite backup is a consistent, openable copy taken while the store serves', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'wharf-sqlite-backup-'));
  const store = new SqliteMetadataStore({ path: join(dir, 'live.db'), synchronous: 'normal' });
  try {
    await store.commitBlob('r', { digest: `sha256:${'1'.repeat(64)}`, size: 5 });
    await store.backup(join(dir, 'copy.db'));
    await store.commitBlob('r', { digest: `sha256:${'2'.repeat(64)}`, size: 6 });
    const copy = new SqliteMetadataStore({ path: join(dir, 'copy.db'), synchronous: 'normal' });
    assert.deepEqual((await copy.listBlobs({ limit: 10 })).map((b) => b.size), [5], 'the copy holds what was committed before it');
    await copy.close();
  } finally {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
});
