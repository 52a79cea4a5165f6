// Distribution configurations from its documentation and from typical compose files, converted to Wharf's.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { parse } from 'yaml';
import { convertDistribution } from '../../src/config/distribution/convert.js';
import { distributionRules } from '../../src/config/distribution/rules.js';
import { distributionKeyTable } from '../../src/config/distribution/table.js';
import { ConfigError, configWarnings, loadConfig } from '../../src/config/load.js';

const yml = (text: string) => parse(text) as Record<string, unknown>;

/** The config.yml the registry:2 image ships (/etc/docker/registry/config.yml). */
const imageDefault = `
version: 0.1
log:
  fields:
    service: registry
storage:
  cache:
    blobdescriptor: inmemory
  filesystem:
    rootdirectory: /var/lib/registry
http:
  addr: :5000
  headers:
    X-Content-Type-Options: [nosniff]
health:
  storagedriver:
    enabled: true
    interval: 10s
    threshold: 3
`;

async function withFile<T>(text: string, run: (file: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'distcfg-unit-'));
  try {
    const file = join(dir, 'config.yml');
    await writeFile(file, text);
    return await run(file);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test("the registry:2 image's own config.yml loads, with warnings for what Wharf leaves out", async () => {
  const { config, warnings, errors } = convertDistribution(yml(imageDefault));
  assert.deepEqual(errors, []);
  assert.deepEqual(config, {
    storage: { dataDir: '/var/lib/registry' },
    server: { addr: ':5000' },
    health: { interval: '10s', failureThreshold: 3 },
    registry: { deleteEnabled: false },
  });
  assert.equal(warnings.length, 1);
  assert.match(warnings[0]!, /^log\.fields: /);
  await withFile(imageDefault, async (file) => {
    const loaded = await loadConfig({ file, env: {} });
    assert.equal(loaded.storage.dataDir, '/var/lib/registry');
    assert.equal(loaded.registry.deleteEnabled, false, 'Distribution refuses deletes unless storage.delete.enabled');
    assert.equal(loaded.auth.mode, 'none');
    assert.ok(configWarnings(loaded).some((w) => w.startsWith('log.fields')));
  });
});

test('a compose env block with htpasswd and CORS for a browser UI (joxit docker-registry-ui)', async () => {
  const env = {
    REGISTRY_AUTH: 'htpasswd',
    REGISTRY_AUTH_HTPASSWD_REALM: 'Registry Realm',
    REGISTRY_AUTH_HTPASSWD_PATH: '/auth/htpasswd',
    'REGISTRY_HTTP_HEADERS_Access-Control-Allow-Origin': '[http://registry.example.com]',
    'REGISTRY_HTTP_HEADERS_Access-Control-Allow-Methods': '[HEAD,GET,OPTIONS,DELETE]',
    'REGISTRY_HTTP_HEADERS_Access-Control-Allow-Credentials': '[true]',
    'REGISTRY_HTTP_HEADERS_Access-Control-Allow-Headers': '[Authorization,Accept,Cache-Control]',
    'REGISTRY_HTTP_HEADERS_Access-Control-Expose-Headers': '[Docker-Content-Digest]',
    REGISTRY_STORAGE_DELETE_ENABLED: 'true',
  };
  const loaded = await loadConfig({ env });
  assert.equal(loaded.auth.mode, 'basic');
  assert.equal(loaded.auth.realm, 'Registry Realm');
  assert.equal(loaded.auth.htpasswd.path, '/auth/htpasswd');
  assert.deepEqual(loaded.auth.rules, [{ users: ['*'], groups: [], repositories: ['**'], actions: ['pull', 'push', 'delete'] }]);
  assert.equal(loaded.registry.deleteEnabled, true);
  assert.deepEqual(
    { enabled: loaded.cors.enabled, origins: loaded.cors.allowedOrigins, methods: loaded.cors.allowedMethods, headers: loaded.cors.allowedHeaders, exposed: loaded.cors.exposedHeaders, credentials: loaded.cors.allowCredentials },
    { enabled: true, origins: ['http://registry.example.com'], methods: ['HEAD', 'GET', 'DELETE'], headers: ['Authorization', 'Accept', 'Cache-Control'], exposed: ['Docker-Content-Digest'], credentials: true },
  );
  assert.deepEqual(configWarnings(loaded), [], 'the converted rules grant: no "no user can pull or push" warning');
});

/** A Dokploy / Cloudflare R2 compose environment for registry:2. */
const r2Env = {
  REGISTRY_STORAGE: 's3',
  REGISTRY_STORAGE_S3_ACCESSKEY: 'AKIA',
  REGISTRY_STORAGE_S3_SECRETKEY: 'secret',
  REGISTRY_STORAGE_S3_REGION: 'auto',
  REGISTRY_STORAGE_S3_BUCKET: 'registry',
  REGISTRY_STORAGE_S3_REGIONENDPOINT: 'https://0123.r2.cloudflarestorage.com',
  REGISTRY_STORAGE_S3_FORCEPATHSTYLE: 'true',
  REGISTRY_STORAGE_DELETE_ENABLED: 'true',
};

test('an S3 / R2 env block maps onto storage.s3 with the S3 schema keys and types, and loads', async () => {
  const { config, errors, warnings } = convertDistribution(yml('version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: /var/lib/registry\n'), {
    ...r2Env,
    REGISTRY_STORAGE_S3_ROOTDIRECTORY: '/images',
    REGISTRY_STORAGE_S3_CHUNKSIZE: '104857600',
    REGISTRY_STORAGE_REDIRECT_DISABLE: 'true',
    REGISTRY_STORAGE_S3_SECURE: 'true',
    REGISTRY_STORAGE_S3_V4AUTH: 'true',
    REGISTRY_STORAGE_MAINTENANCE_READONLY_ENABLED: 'true',
  });
  assert.deepEqual(errors, []);
  assert.deepEqual(warnings, []);
  assert.deepEqual(config.storage, {
    driver: 's3',
    s3: { accessKeyId: 'AKIA', secretAccessKey: 'secret', region: 'auto', bucket: 'registry', endpoint: 'https://0123.r2.cloudflarestorage.com', forcePathStyle: true, prefix: 'images', partSize: 104857600, redirect: false },
  });
  assert.deepEqual(config.registry, { deleteEnabled: true, readOnly: true });

  // The same variables with no file, validated by the real schema (what `wharf serve` does).
  const loaded = await loadConfig({ env: { ...r2Env, REGISTRY_STORAGE_S3_CHUNKSIZE: '5242880' } });
  assert.equal(loaded.storage.driver, 's3');
  assert.deepEqual(loaded.storage.s3, {
    bucket: 'registry',
    region: 'auto',
    endpoint: 'https://0123.r2.cloudflarestorage.com',
    forcePathStyle: true,
    accessKeyId: 'AKIA',
    secretAccessKey: 'secret',
    prefix: '',
    partSize: 5242880,
    redirect: true,
  });
  assert.equal(loaded.registry.deleteEnabled, true);
  assert.equal(loaded.registry.readOnly, false);
  assert.deepEqual(configWarnings(loaded), []);
});

test("S3 redirects follow Distribution's storage.redirect.disable: on unless disabled", () => {
  const redirect = (extra: string) => (convertDistribution(yml(`version: 0.1\nstorage:\n  s3:\n    bucket: b\n${extra}`)).config.storage as { s3: { redirect: boolean } }).s3.redirect;
  assert.equal(redirect(''), true);
  assert.equal(redirect('  redirect:\n    disable: false\n'), true);
  assert.equal(redirect('  redirect:\n    disable: true\n'), false);
  const filesystem = convertDistribution(yml('version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: /r\n  redirect:\n    disable: true\n'));
  assert.deepEqual(filesystem.errors, []);
  assert.equal((filesystem.config.storage as Record<string, unknown>).s3, undefined, 'no S3 settings for the filesystem driver');
});

test('S3 keys Wharf cannot honour are refused or named, and a chunk size below 5 MiB is refused as Distribution does', () => {
  assert.match(convertDistribution(yml('version: 0.1\nstorage:\n  gcs:\n    bucket: b\n')).errors[0]!, /^storage\.gcs: Wharf keeps blobs on the filesystem or in S3/);
  assert.match(convertDistribution(yml('version: 0.1\nstorage:\n  s3:\n    skipverify: true\n')).errors[0]!, /^storage\.s3\.skipverify: .*NODE_EXTRA_CA_CERTS/);
  assert.match(convertDistribution(yml('version: 0.1\nstorage:\n  s3:\n    v4auth: false\n')).errors[0]!, /^storage\.s3\.v4auth: .*Signature V4/);
  const small = convertDistribution({ version: '0.1' }, { ...r2Env, REGISTRY_STORAGE_S3_CHUNKSIZE: '1048576' });
  assert.equal(small.errors.length, 1);
  assert.match(small.errors[0]!, /REGISTRY_STORAGE_S3_CHUNKSIZE \(storage\.s3\.chunksize\): expected a number of bytes of at least 5242880 \(5 MiB\), got 1048576$/);
  assert.match(convertDistribution({ version: '0.1' }, { ...r2Env, REGISTRY_STORAGE_S3_CHUNKSIZE: 'big' }).errors[0]!, /chunksize\): expected a number of bytes/);
  assert.deepEqual(convertDistribution({ version: '0.1' }, { ...r2Env, REGISTRY_STORAGE_S3_MAXRETRIES: '3' }).warnings, ['REGISTRY_STORAGE, REGISTRY_STORAGE_S3_MAXRETRIES (storage.s3.maxretries): Wharf retries S3 requests itself']);
});

test("notifications from Distribution's documentation become webhooks with Distribution's actions", () => {
  const { config, errors, warnings } = convertDistribution(
    yml(`
version: 0.1
notifications:
  events:
    includereferences: true
  endpoints:
    - name: alistener
      disabled: false
      url: https://my.listener.com/event
      headers:
        Authorization: [Bearer <your token, if needed>]
      timeout: 1s
      threshold: 10
      backoff: 1s
      ignoredmediatypes:
        - application/octet-stream
      ignore:
        mediatypes:
          - application/octet-stream
        actions:
          - pull
    - name: ntfy
      url: https://ntfy.sh/my-registry
      timeout: 500ms
      backoff: 2s
    - name: off
      disabled: true
      url: http://127.0.0.1:1/
`),
  );
  assert.deepEqual(errors, []);
  assert.deepEqual(config.webhooks, {
    endpoints: [
      { name: 'alistener', url: 'https://my.listener.com/event', headers: { Authorization: 'Bearer <your token, if needed>' }, timeout: '1s', actions: ['push', 'delete'] },
      { name: 'ntfy', url: 'https://ntfy.sh/my-registry', timeout: '500ms', actions: ['push', 'pull', 'delete', 'mount'] },
    ],
    initialBackoff: '1s',
  });
  assert.ok(warnings.some((w) => w.startsWith('notifications.events.includereferences:')));
  assert.ok(warnings.some((w) => w.startsWith('notifications.endpoints.0.threshold:')));
  assert.ok(warnings.some((w) => /one initial backoff for all endpoints: 1s/.test(w)));
  const other = convertDistribution(yml('version: 0.1\nnotifications:\n  endpoints:\n    - name: a\n      url: http://x/\n      ignoredmediatypes: [application/vnd.oci.image.manifest.v1+json]\n'));
  assert.match(other.errors[0]!, /cannot filter events by media type/);
});

test('TLS files, Let’s Encrypt and the debug listener with Prometheus', () => {
  const files = convertDistribution(yml('version: 0.1\nhttp:\n  addr: :443\n  tls:\n    certificate: /certs/domain.crt\n    key: /certs/domain.key\n    minimumtls: tls1.3\n'));
  assert.deepEqual(files.config.tls, { certificate: '/certs/domain.crt', key: '/certs/domain.key', minVersion: 'TLSv1.3', mode: 'files', http: { enabled: false } });
  assert.match(convertDistribution(yml('version: 0.1\nhttp:\n  tls:\n    minimumtls: tls1.0\n')).errors[0]!, /TLS 1\.2 at the oldest/);
  const acme = convertDistribution(yml('version: 0.1\nhttp:\n  tls:\n    letsencrypt:\n      cachefile: /etc/le.cache\n      email: ops@example.com\n      hosts: [registry.example.com]\n'));
  assert.deepEqual(acme.errors, []);
  assert.deepEqual(acme.config.tls, { acme: { email: 'ops@example.com', domains: ['registry.example.com'], termsOfServiceAgreed: true }, mode: 'acme' });
  assert.ok(acme.warnings.some((w) => /HTTP-01/.test(w)));
  const debug = convertDistribution(yml('version: 0.1\nhttp:\n  debug:\n    addr: 127.0.0.1:5001\n    prometheus:\n      enabled: true\n      path: /metrics\n'));
  assert.deepEqual([debug.config.metrics, debug.errors, debug.warnings], [{ addr: '127.0.0.1:5001', enabled: true }, [], []]);
  assert.match(convertDistribution(yml('version: 0.1\nhttp:\n  debug:\n    addr: :5001\n    prometheus:\n      path: /prom\n')).errors[0]!, /at \/metrics/);
});

test('keys without an equivalent are errors that say what to do; mistyped keys get the key meant', () => {
  const { errors } = convertDistribution(
    yml(`
version: 0.1
redis:
  addr: redis:6379
storage:
  cache:
    blobdescriptor: redis
  filesytem:
    rootdirectory: /x
proxy:
  remoteurl: https://registry-1.docker.io
http:
  headers:
    X-Powered-By: [me]
auth:
  silly:
    realm: r
`),
  );
  assert.deepEqual(errors, [
    'redis: not needed: Wharf keeps metadata in its database',
    'storage.cache.blobdescriptor: not needed: Wharf keeps metadata in its database (no Redis cache)',
    'storage.filesytem.rootdirectory: not a Distribution configuration key Wharf knows (did you mean storage.filesystem.rootdirectory? see "Coming from Distribution" in the README)',
    'proxy: pull-through cache not yet available in Wharf: keep Distribution as the mirror for now',
    'http.headers.X-Powered-By: Wharf sends no custom response headers: add it in the reverse proxy in front of Wharf',
    'auth.silly: a test-only scheme that lets anyone in: use htpasswd, or no auth section for an open registry',
  ]);
  assert.match(convertDistribution(yml('version: 0.2\n')).errors[0]!, /^version: only version 0\.1/);
  const fromEnv = convertDistribution({ version: '0.1' }, { REGISTRY_STORAGE_FILESYSTEM_ROOTDIR: '/x', REGISTRY_REDIS_ADDR: 'r:6379' });
  assert.deepEqual(fromEnv.errors, [
    'REGISTRY_REDIS_ADDR (redis): not needed: Wharf keeps metadata in its database',
    'REGISTRY_STORAGE_FILESYSTEM_ROOTDIR (storage.filesystem.rootdir): not a Distribution configuration key Wharf knows (did you mean storage.filesystem.rootdirectory? see "Coming from Distribution" in the README)',
  ]);
});

test('at load: refused keys, stray REGISTRY_ variables with a Wharf file, and a config.yml missing its version are errors', async () => {
  await withFile('version: 0.1\nredis:\n  addr: r:6379\n', async (file) => {
    await assert.rejects(loadConfig({ file, env: {} }), (e: unknown) => e instanceof ConfigError && /redis: not needed/.test(e.message));
  });
  await withFile('server:\n  addr: 127.0.0.1:5000\n', async (file) => {
    await assert.rejects(loadConfig({ file, env: { REGISTRY_AUTH: 'htpasswd' } }), (e: unknown) => e instanceof ConfigError && /REGISTRY_AUTH: REGISTRY_\* variables override a Distribution config\.yml/.test(e.message));
    const ok = await loadConfig({ file, env: { REGISTRY_PORT: 'tcp://10.0.0.1:5000', REGISTRY_SERVICE_HOST: '10.0.0.1' } });
    assert.equal(ok.server.addr, '127.0.0.1:5000');
  });
  await withFile('http:\n  addr: :5000\n', async (file) => {
    await assert.rejects(loadConfig({ file, env: {} }), (e: unknown) => e instanceof ConfigError && /no `version: 0\.1`/.test(e.message));
  });
  await assert.rejects(loadConfig({ env: { WHARF_AUTH_MODE: 'basic' } }), (e: unknown) => e instanceof ConfigError && /WHARF_AUTH_MODE: .*did you mean WHARF_AUTH__MODE/.test(e.message));
});

test('WHARF_ variables apply on top of a converted config.yml', async () => {
  await withFile(imageDefault, async (file) => {
    const config = await loadConfig({ file, env: { WHARF_REGISTRY__DELETE_ENABLED: 'true', REGISTRY_HTTP_ADDR: '127.0.0.1:5999' } });
    assert.equal(config.registry.deleteEnabled, true);
    assert.equal(config.server.addr, '127.0.0.1:5999');
  });
});

test('basic auth that grants nothing is a warning: no user can pull or push', async () => {
  await withFile('auth:\n  mode: basic\n  htpasswd:\n    path: /etc/htpasswd\n', async (file) => {
    const config = await loadConfig({ file, env: {} });
    assert.ok(configWarnings(config).some((w) => /no user can pull or push/.test(w)));
  });
  await withFile("auth:\n  mode: basic\n  htpasswd:\n    path: /etc/htpasswd\n  admins: [root]\n", async (file) => {
    assert.deepEqual(configWarnings(await loadConfig({ file, env: {} })), []);
  });
});

test('every rule is documented, and the README carries the current key table', async () => {
  for (const rule of distributionRules) {
    assert.ok(rule.note.length > 0 || rule.status === 'mapped', `${rule.key} needs a note`);
    if (rule.status === 'mapped') assert.ok(rule.wharf, `${rule.key} names the Wharf key it becomes`);
  }
  assert.equal(new Set(distributionRules.map((r) => r.key)).size, distributionRules.length, 'one rule per key');
  const readme = await readFile(new URL('../../../README.md', import.meta.url), 'utf8');
  assert.ok(readme.includes(distributionKeyTable()), 'README.md is out of date: run `npm run docs:config`');
});

test("token auth from Distribution's documentation trusts the external token server", async () => {
  const text = `version: 0.1
auth:
  token:
    realm: https://auth.example.com/token
    service: my.registry.example.com
    issuer: registry-token-issuer
    rootcertbundle: /root/certs/bundle
`;
  await withFile(text, async (file) => {
    const config = await loadConfig({ file, env: {} });
    assert.equal(config.auth.mode, 'token');
    assert.equal(config.auth.token.issue, false);
    assert.equal(config.auth.token.realm, 'https://auth.example.com/token');
    assert.equal(config.auth.token.service, 'my.registry.example.com');
    assert.deepEqual(config.auth.token.external, { issuer: 'registry-token-issuer', certificate: '/root/certs/bundle' });
    assert.deepEqual(configWarnings(config), [], 'the external issuer decides: no "nothing granted" warning');
  });
  const both = convertDistribution(yml('version: 0.1\nauth:\n  htpasswd:\n    path: /a\n  token:\n    realm: https://a/\n'));
  assert.match(both.errors[0]!, /^auth: several schemes \(htpasswd, token\): keep one/);
});
