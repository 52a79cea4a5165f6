import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteMetadataStore } from '../../../src/metadata/sqlite.js';
import { usageConformance } from './usage-conformance.js';

usageConformance('sqlite file', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'wharf-usage-'));
  const store = new SqliteMetadataStore({ path: join(dir, 'wharf.db'), synchronous: 'normal' });
  return {
    store,
    cleanup: async () => {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
});

usageConformance('sqlite in memory', async () => {
  const store = new SqliteMetadataStore({ path: ':memory:', synchronous: 'full' });
  return { store, cleanup: () => store.close() };
});
