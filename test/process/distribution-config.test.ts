// Distribution configurations through the real path: `wharf serve` started as a compose file or a systemd unit
// would start registry:2 (REGISTRY_* variables, a config.yml), then real clients: skopeo, plain HTTP, a webhook
// receiver, a Prometheus scrape, TLS. skopeo, htpasswd, openssl and docker-registry must be installed
// (scripts/install-test-deps.sh): these tests fail, not skip, without them.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { request as httpRequest, createServer } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { promisify } from 'node:util';
import { selfSigned } from '../tls/support/pki.js';
import { wharfCli } from '../support/cli.js';
import { freePort, tempDir, wharfMain } from '../support/processes.js';
import { cleanEnv, killAll, skopeo, startUntilReady, type Started } from '../support/started.js';

const exec = promisify(execFile);
const dirs: string[] = [];
after(async () => {
  killAll();
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function scratch(): Promise<string> {
  const dir = await tempDir('distcfg');
  dirs.push(dir);
  return dir;
}

/** `wharf serve ARGS` (or docker-registry) until /v2/ answers; `ca` for a TLS listener. */
const serve = (command: string, args: string[], env: NodeJS.ProcessEnv, url: string, ca?: string): Promise<Started> =>
  startUntilReady(command, args, {
    env,
    timeoutMs: 20_000,
    ready: async () => [200, 401].includes((await call('GET', `${url}/v2/`, {}, undefined, ca)).status),
  });

interface Answer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

/** One HTTP(S) request; `ca` trusts a test certificate. */
function call(method: string, url: string, headers: Record<string, string>, body?: Buffer, ca?: string): Promise<Answer> {
  const send = url.startsWith('https:') ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(url, { method, headers: body ? { ...headers, 'content-length': String(body.length) } : headers, ...(ca ? { ca } : {}) }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const digest = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const basic = (user: string, password: string) => ({ authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` });

function imageManifest(config: Buffer, layer: Buffer, layerType: string): Buffer {
  return Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: digest(config), size: config.length },
      layers: [{ mediaType: layerType, digest: digest(layer), size: layer.length }],
    }),
  );
}

/** A small image pushed over plain HTTP requests: monolithic blob uploads, then the manifest. Returns the manifest PUT's status. */
async function httpPush(url: string, repo: string, headers: Record<string, string>, ca?: string): Promise<number> {
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }));
  const layer = Buffer.from(`layer of ${repo}`);
  for (const blob of [config, layer]) {
    const res = await call('POST', `${url}/v2/${repo}/blobs/uploads/?digest=${digest(blob)}`, { ...headers, 'content-type': 'application/octet-stream' }, blob, ca);
    if (res.status !== 201) return res.status;
  }
  const manifest = imageManifest(config, layer, 'application/vnd.oci.image.layer.v1.tar');
  const res = await call('PUT', `${url}/v2/${repo}/manifests/v1`, { ...headers, 'content-type': 'application/vnd.oci.image.manifest.v1+json' }, manifest, ca);
  return res.status;
}

/** An OCI layout with one real gzipped tar layer, for skopeo to push. */
async function ociLayout(dir: string): Promise<string> {
  const layout = join(dir, 'layout');
  const files = join(dir, 'files');
  await mkdir(join(layout, 'blobs', 'sha256'), { recursive: true });
  await mkdir(files, { recursive: true });
  await writeFile(join(files, 'hello.txt'), 'hello from a Distribution user\n');
  await exec('tar', ['-C', files, '-czf', join(dir, 'layer.tgz'), 'hello.txt']);
  const layer = await readFile(join(dir, 'layer.tgz'));
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [digest(layer)] } }));
  const manifest = imageManifest(config, layer, 'application/vnd.oci.image.layer.v1.tar+gzip');
  for (const blob of [layer, config, manifest]) await writeFile(join(layout, 'blobs', 'sha256', digest(blob).slice(7)), blob);
  await writeFile(join(layout, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  const index = { schemaVersion: 2, manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: digest(manifest), size: manifest.length, annotations: { 'org.opencontainers.image.ref.name': 'v1' } }] };
  await writeFile(join(layout, 'index.json'), JSON.stringify(index));
  return layout;
}

async function htpasswdFile(dir: string, user: string, password: string): Promise<string> {
  const file = join(dir, 'htpasswd');
  const { stdout } = await exec('htpasswd', ['-Bbn', user, password]);
  await writeFile(file, stdout);
  return file;
}

test('a compose env block (htpasswd + CORS for a UI + deletes): anonymous push refused, skopeo with credentials pushes', async () => {
  const dir = await scratch();
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const env = cleanEnv({
    REGISTRY_AUTH: 'htpasswd',
    REGISTRY_AUTH_HTPASSWD_REALM: 'Registry Realm',
    REGISTRY_AUTH_HTPASSWD_PATH: await htpasswdFile(dir, 'alice', 'correct horse'),
    REGISTRY_HTTP_ADDR: `127.0.0.1:${port}`,
    REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY: join(dir, 'data'),
    'REGISTRY_HTTP_HEADERS_Access-Control-Allow-Origin': '[http://ui.example.com]',
    'REGISTRY_HTTP_HEADERS_Access-Control-Allow-Methods': '[HEAD,GET,OPTIONS,DELETE]',
    'REGISTRY_HTTP_HEADERS_Access-Control-Allow-Credentials': '[true]',
    'REGISTRY_HTTP_HEADERS_Access-Control-Allow-Headers': '[Authorization,Accept,Cache-Control]',
    'REGISTRY_HTTP_HEADERS_Access-Control-Expose-Headers': '[Docker-Content-Digest]',
    REGISTRY_STORAGE_DELETE_ENABLED: 'true',
    WHARF_METRICS__ADDR: '127.0.0.1:0',
  });
  const wharf = await serve(process.execPath, [wharfMain, 'serve'], env, url);
  try {
    const anonymous = await call('POST', `${url}/v2/app/blobs/uploads/`, {});
    assert.equal(anonymous.status, 401);
    assert.match(String(anonymous.headers['www-authenticate']), /^Basic realm="Registry Realm"/);
    assert.equal(await httpPush(url, 'app', {}), 401);
    const layout = await ociLayout(dir);
    const refused = await skopeo(['copy', '--dest-tls-verify=false', `oci:${layout}:v1`, `docker://127.0.0.1:${port}/app:v1`]);
    assert.notEqual(refused.code, 0, 'an anonymous skopeo push must fail');
    assert.match(refused.output, /unauthorized|authentication required|401/i);
    const pushed = await skopeo(['copy', '--dest-tls-verify=false', '--dest-creds', 'alice:correct horse', `oci:${layout}:v1`, `docker://127.0.0.1:${port}/app:v1`]);
    assert.equal(pushed.code, 0, pushed.output);
    // Distribution's htpasswd semantics: a logged-in user may push and, with deletes enabled, delete.
    assert.equal(await httpPush(url, 'other/repo', basic('alice', 'correct horse')), 201);
    const deleted = await call('DELETE', `${url}/v2/other/repo/manifests/v1`, basic('alice', 'correct horse'));
    assert.equal(deleted.status, 202);
    // The browser UI's preflight, Cache-Control included, and the CORS headers on the real answer.
    const preflight = await call('OPTIONS', `${url}/v2/_catalog`, { origin: 'http://ui.example.com', 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization,cache-control' });
    assert.equal(preflight.status, 204);
    assert.equal(preflight.headers['access-control-allow-origin'], 'http://ui.example.com');
    assert.match(String(preflight.headers['access-control-allow-headers']), /Cache-Control/);
    const tags = await call('GET', `${url}/v2/app/tags/list`, { origin: 'http://ui.example.com', ...basic('alice', 'correct horse') });
    assert.equal(tags.status, 200);
    assert.deepEqual(JSON.parse(tags.body).tags, ['v1']);
    assert.equal(tags.headers['access-control-allow-credentials'], 'true');
    assert.equal(tags.headers['access-control-expose-headers'], 'Docker-Content-Digest');
  } finally {
    await wharf.stop();
  }
});

test('a config.yml with notifications to a webhook and the debug listener with Prometheus', async () => {
  const dir = await scratch();
  const [port, debugPort, hookPort] = [await freePort(), await freePort(), await freePort()];
  const received: { action: string; repository: string }[] = [];
  const hook = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      for (const e of (JSON.parse(body) as { events: { action: string; target: { repository: string } }[] }).events) received.push({ action: e.action, repository: e.target.repository });
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((r) => hook.listen(hookPort, '127.0.0.1', r));
  const file = join(dir, 'config.yml');
  await writeFile(
    file,
    `version: 0.1
log:
  level: info
  formatter: json
  fields:
    service: registry
storage:
  filesystem:
    rootdirectory: ${join(dir, 'data')}
  delete:
    enabled: true
http:
  addr: 127.0.0.1:${port}
  secret: asecretforlocaldevelopment
  debug:
    addr: 127.0.0.1:${debugPort}
    prometheus:
      enabled: true
      path: /metrics
  headers:
    X-Content-Type-Options: [nosniff]
notifications:
  endpoints:
    - name: ntfy
      url: http://127.0.0.1:${hookPort}/registry
      timeout: 2s
      threshold: 5
      backoff: 1s
      ignoredmediatypes:
        - application/octet-stream
health:
  storagedriver:
    enabled: true
    interval: 10s
    threshold: 3
`,
  );
  const url = `http://127.0.0.1:${port}`;
  const wharf = await serve(process.execPath, [wharfMain, 'serve', '--config', file], cleanEnv({}), url);
  try {
    assert.equal(await httpPush(url, 'notified', {}), 201);
    const deadline = Date.now() + 10_000;
    while (!received.some((e) => e.action === 'push' && e.repository === 'notified') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.ok(received.some((e) => e.action === 'push' && e.repository === 'notified'), `no push event: ${JSON.stringify(received)}`);
    const metrics = await call('GET', `http://127.0.0.1:${debugPort}/metrics`, {});
    assert.equal(metrics.status, 200);
    assert.match(metrics.body, /^# (HELP|TYPE) /m);
    // Dropped keys are named once at start, never silently.
    assert.match(wharf.output(), /log\.fields: /);
    assert.match(wharf.output(), /http\.secret: not needed/);
  } finally {
    await wharf.stop();
    hook.close();
  }
});

test('TLS files and htpasswd from a config.yml: anonymous push refused over HTTPS, authenticated push accepted', async () => {
  const dir = await scratch();
  const pem = await selfSigned(dir, 'registry');
  const port = await freePort();
  const file = join(dir, 'config.yml');
  await writeFile(
    file,
    `version: 0.1
storage:
  filesystem:
    rootdirectory: ${join(dir, 'data')}
http:
  addr: 127.0.0.1:${port}
  tls:
    certificate: ${pem.certPath}
    key: ${pem.keyPath}
    minimumtls: tls1.2
auth:
  htpasswd:
    realm: basic-realm
    path: ${await htpasswdFile(dir, 'bob', 's3cret')}
`,
  );
  const url = `https://127.0.0.1:${port}`;
  const wharf = await serve(process.execPath, [wharfMain, 'serve', '--config', file], cleanEnv({ WHARF_METRICS__ADDR: '127.0.0.1:0' }), url, pem.certPem);
  try {
    assert.equal(await httpPush(url, 'secure', {}, pem.certPem), 401);
    assert.equal(await httpPush(url, 'secure', basic('bob', 's3cret'), pem.certPem), 201);
    assert.equal(await httpPush(url, 'secure', basic('bob', 'wrong'), pem.certPem), 401);
    // delete.enabled absent: deletes are off, as in Distribution.
    const del = await call('DELETE', `${url}/v2/secure/manifests/v1`, basic('bob', 's3cret'), undefined, pem.certPem);
    assert.equal(del.status, 405);
  } finally {
    await wharf.stop();
  }
});

test("Distribution's own config.yml and storage: Wharf starts on them, names the import command, and serves after it", async () => {
  const dir = await scratch();
  const port = await freePort();
  const root = join(dir, 'registry');
  const file = join(dir, 'config.yml');
  await writeFile(
    file,
    `version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: ${root}
  delete:
    enabled: true
http:
  addr: 127.0.0.1:${port}
auth:
  htpasswd:
    realm: basic-realm
    path: ${await htpasswdFile(dir, 'carol', 'pw123456')}
`,
  );
  const url = `http://127.0.0.1:${port}`;
  const distribution = await serve('docker-registry', ['serve', file], cleanEnv({}), url);
  const layout = await ociLayout(dir);
  const pushed = await skopeo(['copy', '--dest-tls-verify=false', '--dest-creds', 'carol:pw123456', `oci:${layout}:v1`, `docker://127.0.0.1:${port}/team/app:v1`]);
  await distribution.stop();
  assert.equal(pushed.code, 0, pushed.output);

  const env = cleanEnv({ WHARF_METRICS__ADDR: '127.0.0.1:0' });
  let wharf = await serve(process.execPath, [wharfMain, 'serve', '--config', file], env, url);
  await wharf.stop();
  const warning = /import its repositories with `(wharf import distribution [^`]+)`/.exec(wharf.output());
  assert.ok(warning, `no import advice at start:\n${wharf.output()}`);
  const [, ...args] = warning[1]!.split(' ');
  const imported = await wharfCli([...args, '--config', file], { env: env as Record<string, string> });
  assert.equal(imported.code, 0, imported.stderr);

  wharf = await serve(process.execPath, [wharfMain, 'serve', '--config', file], env, url);
  try {
    const inspect = await skopeo(['inspect', '--tls-verify=false', '--creds', 'carol:pw123456', `docker://127.0.0.1:${port}/team/app:v1`]);
    assert.equal(inspect.code, 0, inspect.output);
    assert.equal(JSON.parse(inspect.output.slice(inspect.output.indexOf('{'))).Architecture, 'amd64');
    assert.equal((await call('GET', `${url}/v2/team/app/tags/list`, {})).status, 401);
  } finally {
    await wharf.stop();
  }
});

test('unknown keys and variables stop serve with the key, what to do, and the key probably meant', async () => {
  const dir = await scratch();
  const file = join(dir, 'config.yml');
  await writeFile(file, 'version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: /tmp/x\nredis:\n  addr: redis:6379\n');
  const redis = await wharfCli(['serve', '--config', file], { env: cleanEnv({}) as Record<string, string> });
  assert.equal(redis.code, 2);
  assert.match(redis.stderr, /redis: not needed: Wharf keeps metadata in its database/);
  const typo = await wharfCli(['serve'], { env: cleanEnv({ WHARF_AUTH_MODE: 'basic' }) as Record<string, string> });
  assert.equal(typo.code, 2);
  assert.match(typo.stderr, /WHARF_AUTH_MODE: no such configuration variable \(did you mean WHARF_AUTH__MODE\?\)/);
  const registry = await wharfCli(['serve'], { env: cleanEnv({ REGISTRY_AUTH: 'htpasswd', REGISTRY_AUTH_HTPASSWD_PTH: '/auth/htpasswd' }) as Record<string, string> });
  assert.equal(registry.code, 2);
  assert.match(registry.stderr, /REGISTRY_AUTH_HTPASSWD_PTH \(auth\.htpasswd\.pth\): .*did you mean auth\.htpasswd\.path\?/);
  assert.doesNotMatch(redis.stderr + typo.stderr + registry.stderr, /\n\s+at /, 'no stack trace');
});

test('config check: Distribution files, warnings, and the files a configuration names', async () => {
  const dir = await scratch();
  const file = join(dir, 'wharf.yaml');
  await writeFile(file, `auth:\n  mode: basic\n  htpasswd:\n    path: ${join(dir, 'missing-htpasswd')}\ntls:\n  mode: files\n  certificate: ${join(dir, 'nope.crt')}\n  key: ${join(dir, 'nope.key')}\n`);
  const checked = await wharfCli(['config', 'check', file], { env: cleanEnv({}) as Record<string, string> });
  assert.equal(checked.code, 2);
  assert.match(checked.stderr, /warning: auth\.mode is basic but no rule, admin or anonymous grant exists: no user can pull or push/);
  assert.match(checked.stderr, /auth\.htpasswd\.path: .*missing-htpasswd does not exist/);
  assert.match(checked.stderr, /tls\.certificate: .*nope\.crt does not exist/);
  assert.match(checked.stderr, /tls\.key: .*nope\.key does not exist/);

  const yml = join(dir, 'config.yml');
  await writeFile(yml, `version: 0.1\nstorage:\n  cache:\n    blobdescriptor: inmemory\n  filesystem:\n    rootdirectory: ${dir}/data\nhttp:\n  addr: :5000\n`);
  const ok = await wharfCli(['config', 'check', yml], { env: cleanEnv({}) as Record<string, string> });
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /configuration is valid/);
  assert.match(ok.stderr, /warning: storage\.cache\.blobdescriptor|^$/);

  const converted = await wharfCli(['config', 'convert', yml, '--env'], { env: cleanEnv({ REGISTRY_STORAGE_DELETE_ENABLED: 'true', REGISTRY_AUTH: 'htpasswd', REGISTRY_AUTH_HTPASSWD_PATH: '/auth/htpasswd' }) as Record<string, string> });
  assert.equal(converted.code, 0, converted.stderr);
  const { parse } = await import('yaml');
  const out = parse(converted.stdout) as Record<string, Record<string, unknown>>;
  assert.equal(out.storage!.dataDir, `${dir}/data`);
  assert.equal(out.registry!.deleteEnabled, true);
  assert.equal(out.auth!.mode, 'basic');
});
