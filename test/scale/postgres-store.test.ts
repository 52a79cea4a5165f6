// The PostgreSQL metadata store against a real PostgreSQL (scripts/with-services.sh starts one): the shared
// conformance suite, and what is PostgreSQL's own: migrations under an advisory lock, refusing a newer schema,
// configuration, and errors that never show the password.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { validateConfig } from '../../src/config/load.js';
import { describeMetadataStore, metadataStoreExists, openMetadataStore } from '../../src/metadata/open.js';
import { PostgresMetadataStore } from '../../src/metadata/postgres/store.js';
import { postgresMigrations } from '../../src/metadata/postgres/schema.js';
import { metadataStoreConformance } from '../unit/metadata/store-conformance.js';
import { freshSchema, serverUrl } from './postgres-database.js';

test('WHARF_TEST_PG_URL names the PostgreSQL to test against', () => {
  assert.match(serverUrl(), /^postgres(ql)?:\/\//);
});

metadataStoreConformance('postgres', async () => {
  const db = await freshSchema();
  const store = new PostgresMetadataStore({ url: db.url, poolSize: 4 });
  return {
    store,
    openPeer: async () => new PostgresMetadataStore({ url: db.url, poolSize: 4 }),
    cleanup: async () => {
      await store.close();
      await db.drop();
    },
  };
});

test('postgres: nodes starting at once on an empty database apply each migration exactly once', async () => {
  const db = await freshSchema();
  const nodes = Array.from({ length: 6 }, () => new PostgresMetadataStore({ url: db.url, poolSize: 2 }));
  try {
    await Promise.all(nodes.map((n) => n.ping()));
    const applied = await db.query<{ version: number }>('SELECT version FROM wharf_schema_migrations ORDER BY version');
    assert.deepEqual(
      applied.map((r) => r.version),
      postgresMigrations.map((_, i) => i + 1),
    );
    // Every node works on the one schema: what one writes, another reads.
    await nodes[0]!.commitBlob('r', { digest: `sha256:${'a'.repeat(64)}`, size: 3 });
    assert.equal((await nodes[5]!.getRepositoryBlob('r', `sha256:${'a'.repeat(64)}`))?.size, 3);
  } finally {
    await Promise.all(nodes.map((n) => n.close()));
    await db.drop();
  }
});

test('postgres: a database migrated by a newer Wharf is refused, with the versions in the message', async () => {
  const db = await freshSchema();
  try {
    const first = new PostgresMetadataStore({ url: db.url, poolSize: 1 });
    await first.ping();
    await first.close();
    await db.query('INSERT INTO wharf_schema_migrations (version) VALUES ($1)', [postgresMigrations.length + 1]);
    const store = new PostgresMetadataStore({ url: db.url, poolSize: 1 });
    await assert.rejects(store.ping(), /schema is at version \d+, newer than this Wharf knows/);
    await assert.rejects(store.getBlob('sha256:x'), /newer than this Wharf knows/, 'every call fails the same way');
    await store.close();
  } finally {
    await db.drop();
  }
});

test('postgres: a server that cannot be reached fails every call, and no message shows the password', async () => {
  const url = 'postgres://wharf:s3cret-pw@127.0.0.1:1/registry';
  const store = new PostgresMetadataStore({ url, poolSize: 1 });
  const err = await store.ping().then(
    () => assert.fail('ping succeeded'),
    (e: Error) => e,
  );
  assert.match(err.message, /PostgreSQL metadata store at postgres:\/\/wharf:\*\*\*@127\.0\.0\.1:1\/registry/);
  assert.doesNotMatch(`${err.message} ${err.stack}`, /s3cret/);
  await store.close();
  const config = validateConfig({ metadata: { driver: 'postgres', postgres: { url } } }, 'test');
  assert.doesNotMatch(describeMetadataStore(config), /s3cret/);
  const probe = await metadataStoreExists(config).then(
    () => assert.fail('found a store'),
    (e: Error) => e,
  );
  assert.doesNotMatch(probe.message, /s3cret/);
});

test('postgres config: the driver needs a URL, the URL must be postgres://, and the factory opens that store', async () => {
  assert.throws(() => validateConfig({ metadata: { driver: 'postgres' } }, 'test'), /metadata\.postgres\.url: driver postgres needs the database URL/);
  assert.throws(
    () => validateConfig({ metadata: { driver: 'postgres', postgres: { url: 'mysql://u:hunter2@h/db' } } }, 'test'),
    (e: Error) => /metadata\.postgres\.url: expected a URL such as postgres:/.test(e.message) && !e.message.includes('hunter2'),
  );
  assert.throws(() => validateConfig({ metadata: { postgres: { poolSize: 0 } } }, 'test'), /metadata\.postgres\.poolSize/);
  const db = await freshSchema();
  try {
    const config = validateConfig({ metadata: { driver: 'postgres', postgres: { url: db.url, poolSize: 3 } } }, 'test');
    assert.equal(await metadataStoreExists(config), false, 'an empty database holds no registry');
    const store = openMetadataStore(config);
    assert.equal(store.name, 'postgres');
    await store.putManifest({
      repository: 'r',
      digest: `sha256:${'b'.repeat(64)}`,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      body: Buffer.from('{}'),
      artifactType: null,
      subject: null,
      annotations: null,
      blobs: [],
      manifests: [],
      tags: ['t'],
    });
    await store.close();
    assert.equal(await metadataStoreExists(config), true);
  } finally {
    await db.drop();
  }
});

test('postgres: an export spanning many pages and batches (one digest in two repositories) imports and re-exports line for line', async () => {
  const source = await freshSchema();
  const target = await freshSchema();
  const a = new PostgresMetadataStore({ url: source.url, poolSize: 4 });
  const b = new PostgresMetadataStore({ url: target.url, poolSize: 4 });
  try {
    const digest = (n: number) => `sha256:${n.toString(16).padStart(64, '0')}`;
    await a.commitBlob('x', { digest: digest(1), size: 10 });
    const pad = 'p'.repeat(5000); // 1200 bodies of 5 kB: more than one body chunk and one import batch
    for (let i = 0; i < 600; i++) {
      for (const repository of ['x', 'y/z']) {
        if (i === 0) await a.linkBlob(repository, digest(1));
        await a.putManifest({
          repository,
          digest: digest(1000 + i),
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          body: Buffer.from(JSON.stringify({ i, pad })),
          artifactType: null,
          subject: null,
          annotations: null,
          blobs: [digest(1)],
          manifests: i > 0 ? [digest(1000 + i - 1)] : [],
          tags: [`t${i}`],
        });
      }
    }
    const lines: string[] = [];
    await a.exportSnapshot((line) => {
      lines.push(JSON.stringify(line));
    });
    const counts = await b.importSnapshot(lines);
    assert.deepEqual([counts.repository, counts.manifest, counts.tag, counts.link], [2, 1200, 1200, 2]);
    const again: string[] = [];
    await b.exportSnapshot((line) => {
      again.push(JSON.stringify(line));
    });
    assert.deepEqual(again.slice(1), lines.slice(1));
    assert.deepEqual(await b.manifestsReferencing(digest(1000 + 598)), [
      { repository: 'x', digest: digest(1000 + 599) },
      { repository: 'y/z', digest: digest(1000 + 599) },
    ]);
    assert.deepEqual(await b.stats(), await a.stats());
  } finally {
    await a.close();
    await b.close();
    await source.drop();
    await target.drop();
  }
});
