// storage.s3 as the config loader reads it: environment variables, defaults, and the combinations refused at start.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, loadConfig } from '../../../src/config/load.js';
import { createDriver } from '../../../src/registry/registry.js';

test('storage.driver s3 reads every storage.s3 key from the environment, with defaults', async () => {
  const config = await loadConfig({
    env: {
      WHARF_STORAGE__DRIVER: 's3',
      WHARF_STORAGE__S3__BUCKET: 'registry',
      WHARF_STORAGE__S3__ENDPOINT: 'http://127.0.0.1:9000',
      WHARF_STORAGE__S3__FORCE_PATH_STYLE: 'true',
      WHARF_STORAGE__S3__REDIRECT: 'true',
      WHARF_STORAGE__S3__PART_SIZE: String(8 * 1024 * 1024),
    },
  });
  assert.equal(config.storage.driver, 's3');
  assert.deepEqual(config.storage.s3, {
    bucket: 'registry',
    region: 'us-east-1',
    endpoint: 'http://127.0.0.1:9000',
    forcePathStyle: true,
    prefix: '',
    partSize: 8 * 1024 * 1024,
    redirect: true,
  });
  assert.equal(createDriver(config).name, 's3');
});

test('storage.s3 refuses what would fail later: no bucket, half a key pair, parts below 5 MiB, a leading slash', async () => {
  const cases: [Record<string, string>, RegExp][] = [
    [{ WHARF_STORAGE__DRIVER: 's3' }, /storage\.s3\.bucket/],
    [{ WHARF_STORAGE__S3__BUCKET: 'b', WHARF_STORAGE__S3__ACCESS_KEY_ID: 'AK' }, /secretAccessKey/],
    [{ WHARF_STORAGE__S3__PART_SIZE: '1048576' }, /5 MiB/],
    [{ WHARF_STORAGE__S3__PREFIX: '/registry' }, /leading slash/],
    [{ WHARF_STORAGE__S3__ENDPOINT: 'ftp://x' }, /endpoint/],
  ];
  for (const [env, message] of cases) {
    await assert.rejects(loadConfig({ env }), (e: unknown) => e instanceof ConfigError && message.test(e.message), JSON.stringify(env));
  }
});
