// Webhooks through the real path: a wharf process, a real HTTP receiver, outages and a kill -9 with events pending.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { Client } from '../api/support/http.js';
import { pushImage } from '../api/support/registry.js';
import { freePort, startWharf, tempDir, wharfMain, type RunningRegistry } from '../support/processes.js';

interface Received {
  readonly path: string;
  readonly contentType: string;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: { events?: { action: string; target: { repository: string; digest: string; tag?: string; mediaType?: string } }[] } & Record<string, unknown>;
}

/** A webhook receiver that can go down and come back on the same port. */
class Receiver {
  readonly received: Received[] = [];
  private server: Server | null = null;
  status = 200;

  constructor(readonly port: number) {}

  async up(): Promise<void> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        if (this.status === 200) {
          this.received.push({
            path: req.url ?? '',
            contentType: String(req.headers['content-type']),
            headers: req.headers,
            body: JSON.parse(Buffer.concat(chunks).toString()) as Received['body'],
          });
        }
        res.writeHead(this.status).end();
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(this.port, '127.0.0.1', resolve));
  }

  async down(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  events(path = '/hook'): { action: string; repository: string; digest: string; tag?: string }[] {
    return this.received
      .filter((r) => r.path === path)
      .flatMap((r) => r.body.events ?? [])
      .map((e) => ({ action: e.action, repository: e.target.repository, digest: e.target.digest, tag: e.target.tag }));
  }

  /** Waits until `count` deliveries (one event each) reached `path`. */
  async waitFor(count: number, path = '/hook', timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const delivered = () => this.received.filter((r) => r.path === path).length;
    while (delivered() < count) {
      if (Date.now() > deadline) throw new Error(`expected ${count} deliveries at ${path}, got ${delivered()}: ${JSON.stringify(this.events(path))}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

function config(port: number, extra = ''): string {
  return `
webhooks:
  initialBackoff: 100ms
  maxBackoff: 400ms
  pollInterval: 100ms
  maxAttempts: 1000
  endpoints:
    - name: main
      url: http://127.0.0.1:${port}/hook
      headers: { X-Token: secret-for-receiver }
      actions: [push, pull, delete, mount]
    - name: cloud
      url: http://127.0.0.1:${port}/cloud
      format: cloudevents
      actions: [push]
      repositories: ["team/**"]
${extra}`;
}

async function pullByTag(url: string, repo: string, tag: string): Promise<void> {
  const res = await fetch(`${url}/v2/${repo}/manifests/${tag}`, { headers: { Accept: 'application/vnd.oci.image.manifest.v1+json' } });
  assert.equal(res.status, 200);
  await res.arrayBuffer();
}

test('push, pull, mount and delete are delivered in Distribution format and as CloudEvents, with headers', async () => {
  const receiver = new Receiver(await freePort());
  await receiver.up();
  const wharf = await startWharf({ configYaml: config(receiver.port) });
  try {
    const c = new Client(wharf.url);
    const image = await pushImage(c, 'team/app', { tag: 'v1' });
    await pullByTag(wharf.url, 'team/app', 'v1');
    const mount = await fetch(`${wharf.url}/v2/other/blobs/uploads/?mount=${image.config.digest}&from=team/app`, { method: 'POST' });
    assert.equal(mount.status, 201);
    const del = await fetch(`${wharf.url}/v2/team/app/manifests/v1`, { method: 'DELETE' });
    assert.equal(del.status, 202);
    await receiver.waitFor(4);
    await receiver.waitFor(1, '/cloud');
    // Order is promised per repository; repositories are delivered independently.
    const of = (repo: string) => receiver.events().filter((e) => e.repository === repo);
    assert.deepEqual(of('team/app'), [
      { action: 'push', repository: 'team/app', digest: image.digest, tag: 'v1' },
      { action: 'pull', repository: 'team/app', digest: image.digest, tag: 'v1' },
      { action: 'delete', repository: 'team/app', digest: image.digest, tag: 'v1' },
    ]);
    assert.deepEqual(of('other'), [{ action: 'mount', repository: 'other', digest: image.config.digest, tag: undefined }]);
    const first = receiver.received.find((r) => r.path === '/hook')!;
    assert.equal(first.contentType, 'application/vnd.docker.distribution.events.v2+json');
    assert.equal(first.headers['x-token'], 'secret-for-receiver');
    const cloud = receiver.received.find((r) => r.path === '/cloud')!;
    assert.equal(cloud.contentType, 'application/cloudevents+json');
    assert.equal(cloud.body.specversion, '1.0');
    assert.equal(cloud.body.type, 'io.wharf.artifact.pushed');
    assert.equal(cloud.body.subject, 'team/app:v1');
  } finally {
    await wharf.stop();
    await receiver.down();
  }
});

test('a receiver that is down for a while gets every event, in order per repository, when it is back', async () => {
  const receiver = new Receiver(await freePort());
  const wharf = await startWharf({ configYaml: config(receiver.port) });
  try {
    const c = new Client(wharf.url);
    const pushed: string[] = [];
    for (let i = 0; i < 6; i++) pushed.push((await pushImage(c, i % 2 ? 'odd' : 'even', { tag: `t${i}` })).digest);
    await new Promise((r) => setTimeout(r, 600)); // several failed attempts while the receiver is down
    await receiver.up();
    await receiver.waitFor(6);
    for (const repo of ['even', 'odd']) {
      const tags = receiver.events().filter((e) => e.repository === repo).map((e) => e.tag);
      assert.deepEqual(tags, repo === 'even' ? ['t0', 't2', 't4'] : ['t1', 't3', 't5'], `${repo} in push order`);
    }
  } finally {
    await wharf.stop();
    await receiver.down();
  }
});

test('events pending when wharf is killed (kill -9) arrive after the restart', async () => {
  const receiver = new Receiver(await freePort());
  const dataDir = await tempDir('webhooks');
  let wharf: RunningRegistry = await startWharf({ dataDir, configYaml: config(receiver.port) });
  try {
    const c = new Client(wharf.url);
    const digests: string[] = [];
    for (let i = 0; i < 3; i++) digests.push((await pushImage(c, 'durable', { tag: `k${i}` })).digest);
    await wharf.kill();
    await receiver.up();
    wharf = await startWharf({ dataDir, configYaml: config(receiver.port), port: Number(new URL(wharf.url).port) });
    await receiver.waitFor(3);
    assert.deepEqual(receiver.events().map((e) => e.digest), digests);
  } finally {
    await wharf.stop();
    await receiver.down();
  }
});

test('deliveries that keep failing are dead-lettered, visible to the admin, and can be re-queued', async () => {
  const receiver = new Receiver(await freePort());
  receiver.status = 500;
  await receiver.up();
  const dataDir = await tempDir('webhooks-dead');
  const yaml = `
webhooks:
  initialBackoff: 50ms
  maxBackoff: 100ms
  pollInterval: 50ms
  maxAttempts: 2
  endpoints:
    - name: flaky
      url: http://127.0.0.1:${receiver.port}/hook
`;
  const wharf = await startWharf({ dataDir, configYaml: yaml });
  const configFile = `${dataDir}/webhooks.yaml`;
  const { writeFile } = await import('node:fs/promises');
  await writeFile(configFile, yaml);
  const cli = (...args: string[]) => promisify(execFile)(process.execPath, [wharfMain, 'webhooks', ...args, '--config', configFile, '--data-dir', dataDir]);
  try {
    const image = await pushImage(new Client(wharf.url), 'dead/letter', { tag: 'x' });
    const deadline = Date.now() + 10_000;
    let status = '';
    while (Date.now() < deadline) {
      status = (await cli('status')).stdout;
      if (/flaky\t0\t1/.test(status)) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.match(status, /flaky\t0\t1/);
    const dead = (await cli('dead')).stdout.trim().split('\n').map((l) => JSON.parse(l) as { digest: string; attempts: number; lastError: string });
    assert.equal(dead.length, 1);
    assert.equal(dead[0]!.digest, image.digest);
    assert.equal(dead[0]!.attempts, 2);
    assert.equal(dead[0]!.lastError, 'HTTP 500');
    receiver.status = 200;
    assert.match((await cli('retry')).stdout, /re-queued 1/);
    await receiver.waitFor(1);
    assert.equal(receiver.events()[0]!.digest, image.digest);
  } finally {
    await wharf.stop();
    await receiver.down();
  }
});

test('a URL with user:pass@ passes `wharf config check` and is delivered with Basic auth; the password is never printed or logged', async () => {
  const receiver = new Receiver(await freePort());
  await receiver.up();
  const password = 'p@ss:w0rd/secret';
  const yaml = `
log:
  level: debug
webhooks:
  pollInterval: 50ms
  endpoints:
    - name: ntfy
      url: http://hook-user:${encodeURIComponent(password)}@127.0.0.1:${receiver.port}/hook
`;
  const dataDir = await tempDir('webhooks-basic');
  const configFile = `${dataDir}/webhooks.yaml`;
  const { writeFile } = await import('node:fs/promises');
  await writeFile(configFile, yaml);
  const run = (...args: string[]) => promisify(execFile)(process.execPath, [wharfMain, ...args]);
  const check = await run('config', 'check', configFile);
  assert.doesNotMatch(check.stdout + check.stderr, /secret/);
  const wharf = await startWharf({ dataDir, configYaml: yaml });
  try {
    const image = await pushImage(new Client(wharf.url), 'basic/hook', { tag: 'x' });
    await receiver.waitFor(1);
    const got = receiver.received[0]!;
    assert.equal(got.headers.authorization, `Basic ${Buffer.from(`hook-user:${password}`).toString('base64')}`);
    assert.equal(receiver.events()[0]!.digest, image.digest);
    const status = await run('webhooks', 'status', '--config', configFile, '--data-dir', dataDir);
    assert.match(status.stdout, /^ntfy\t0\t0$/m);
    assert.doesNotMatch(status.stdout + status.stderr, /secret|hook-user/);
  } finally {
    await wharf.stop();
    await receiver.down();
  }
  assert.doesNotMatch(wharf.output(), /secret|hook-user/, 'the credentials are not in the server log');
});

test('`wharf config check` rejects URL credentials next to an Authorization header, without echoing them', async () => {
  const dir = await tempDir('webhooks-conflict');
  const file = `${dir}/wharf.yaml`;
  const { writeFile } = await import('node:fs/promises');
  await writeFile(file, 'webhooks:\n  endpoints:\n    - name: both\n      url: http://u:topsecret@127.0.0.1:9/hook\n      headers: { Authorization: "Bearer other" }\n');
  const err = await promisify(execFile)(process.execPath, [wharfMain, 'config', 'check', file]).then(
    () => assert.fail('config check accepted two sets of credentials'),
    (e: { code: number; stdout: string; stderr: string }) => e,
  );
  assert.notEqual(err.code, 0);
  assert.match(err.stderr + err.stdout, /webhooks\.endpoints\.0\.url: credentials in the URL and an Authorization header/);
  assert.doesNotMatch(err.stderr + err.stdout, /topsecret/);
});
