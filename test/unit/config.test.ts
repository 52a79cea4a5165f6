import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mkdtemp, writeFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig } from '../../src/config/load.js';
import { configLeaves, envName } from '../../src/config/introspect.js';
import { configReference } from '../../src/config/reference.js';

async function withFile(text: string, fn: (file: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'wharf-cfg-'));
  try {
    const file = join(dir, 'wharf.yaml');
    await writeFile(file, text);
    await fn(file);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('no file, no environment: the documented defaults', async () => {
  const c = await loadConfig({ env: {} });
  assert.equal(c.server.addr, '0.0.0.0:5000');
  assert.equal(c.registry.maxManifestSize, 4 * 1024 * 1024);
  assert.equal(c.registry.deleteEnabled, true);
  assert.equal(c.registry.uploadSessionMaxAge, 24 * 3600 * 1000);
  assert.equal(c.storage.dataDir, join(process.cwd(), 'data'));
  assert.equal(c.metadata.sqlite.path, join(process.cwd(), 'data', 'wharf.db'));
});

test('file, then environment, then flags', async () => {
  await withFile('server:\n  addr: 127.0.0.1:6000\nregistry:\n  deleteEnabled: false\n  uploadSessionMaxAge: 2h\n', async (file) => {
    const fromFile = await loadConfig({ file, env: {} });
    assert.equal(fromFile.server.addr, '127.0.0.1:6000');
    assert.equal(fromFile.registry.deleteEnabled, false);
    assert.equal(fromFile.registry.uploadSessionMaxAge, 2 * 3600 * 1000);
    const fromEnv = await loadConfig({ file, env: { WHARF_SERVER__ADDR: '127.0.0.1:7000', WHARF_REGISTRY__DELETE_ENABLED: 'true', WHARF_REGISTRY__MAX_MANIFEST_SIZE: '1000' } });
    assert.equal(fromEnv.server.addr, '127.0.0.1:7000');
    assert.equal(fromEnv.registry.deleteEnabled, true);
    assert.equal(fromEnv.registry.maxManifestSize, 1000);
    const fromFlags = await loadConfig({ file, env: { WHARF_SERVER__ADDR: '127.0.0.1:7000' }, overrides: [{ path: ['server', 'addr'], value: '127.0.0.1:8000' }] });
    assert.equal(fromFlags.server.addr, '127.0.0.1:8000');
  });
});

test('every problem is reported with its path, at once', async () => {
  await withFile('server:\n  addr: nowhere\n  bogus: 1\nregistry:\n  maxManifestSize: -5\n  uploadSessionMaxAge: forever\nlog:\n  format: xml\n', async (file) => {
    const err = await loadConfig({ file, env: {} }).then(
      () => null,
      (e: unknown) => e,
    );
    assert.ok(err instanceof ConfigError);
    const text = err.problems.join('\n');
    for (const path of ['server.addr', 'server: Unrecognized key', 'registry.maxManifestSize', 'registry.uploadSessionMaxAge', 'log.format']) {
      assert.ok(text.includes(path.split(':')[0]!), `expected a problem at ${path} in:\n${text}`);
    }
    assert.ok(/bogus/.test(text));
  });
});

test('a file that is not YAML, or not a mapping, is a clear error', async () => {
  await withFile('server: [unclosed', async (file) => {
    await assert.rejects(loadConfig({ file, env: {} }), (e: unknown) => e instanceof ConfigError && /not valid YAML/.test(e.message));
  });
  await withFile('- a list\n', async (file) => {
    await assert.rejects(loadConfig({ file, env: {} }), (e: unknown) => e instanceof ConfigError && /mapping/.test(e.message));
  });
});

test('the reference documents every key with its env name and default', () => {
  const reference = configReference();
  for (const leaf of configLeaves()) {
    assert.ok(reference.includes(`\`${leaf.path.join('.')}\``), leaf.path.join('.'));
    assert.ok(reference.includes(envName(leaf.path)));
    assert.ok(leaf.description.length > 0, `${leaf.path.join('.')} needs a description`);
  }
  assert.match(reference, /`registry.uploadSessionMaxAge` \| duration \| `24h`/);
  assert.equal(envName(['registry', 'maxConcurrentUploads']), 'WHARF_REGISTRY__MAX_CONCURRENT_UPLOADS');
});

test('the README carries the current configuration reference', async () => {
  const { readFile } = await import('node:fs/promises');
  const readme = await readFile(new URL('../../../README.md', import.meta.url), 'utf8');
  assert.ok(readme.includes(configReference()), 'README.md is out of date: run `npm run docs:config`');
});
