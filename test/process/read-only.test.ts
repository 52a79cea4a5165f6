// registry.readOnly (Distribution's maintenance.readonly) against a real `wharf serve`: set in the config, then
// switched by an admin at run time with PUT /admin/v1/read-only. Pulls go on; every write (upload, mount, manifest
// PUT and DELETE, blob DELETE, repository DELETE) is 405 UNSUPPORTED saying why; scheduled GC pauses.
import assert from 'node:assert/strict';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { hashPassword } from '../../src/auth/htpasswd.js';
import { Client, type Res } from '../api/support/http.js';
import { MT, pushImage, randomData } from '../api/support/registry.js';
import { startWharf, tempDir } from '../support/processes.js';

class AsUser extends Client {
  constructor(
    base: string,
    private readonly authorization: string,
  ) {
    super(base);
  }
  override req(method: string, path: string, opts: { headers?: Record<string, string>; body?: Buffer | string } = {}): Promise<Res> {
    return super.req(method, path, { ...opts, headers: { Authorization: this.authorization, ...opts.headers } });
  }
}

function expectReadOnly(res: Res, what: string): void {
  assert.equal(res.status, 405, `${what}: ${res.status} ${res.body.toString()}`);
  const body = JSON.parse(res.body.toString()) as { errors: { code: string; message: string }[] };
  assert.equal(body.errors[0]?.code, 'UNSUPPORTED', what);
  assert.match(body.errors[0]?.message ?? '', /read-only/, what);
}

test('read-only mode: from the config, switched by an admin without restart; pulls go on, every write is 405 UNSUPPORTED', async () => {
  const dir = await tempDir('read-only');
  const htpasswd = join(dir, 'htpasswd');
  await writeFile(htpasswd, `admin:${await hashPassword('admin-pw', 4)}\nalice:${await hashPassword('alice-pw', 4)}\n`);
  const wharf = await startWharf({
    port: 25100 + Math.floor(Math.random() * 300),
    configYaml: [
      'registry: {readOnly: true}',
      'gc: {interval: 1s}',
      'auth:',
      '  mode: basic',
      `  htpasswd: {path: ${JSON.stringify(htpasswd)}}`,
      '  admins: [admin]',
      '  rules: [{users: [alice], repositories: ["team/**"], actions: [pull, push, delete]}]',
    ].join('\n'),
  });
  const basic = (u: string, p: string) => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`;
  const alice = new AsUser(wharf.url, basic('alice', 'alice-pw'));
  const admin = new AsUser(wharf.url, basic('admin', 'admin-pw'));
  const switchTo = (who: Client, enabled: unknown) =>
    who.put('/admin/v1/read-only', { headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ enabled }) });
  try {
    expectReadOnly(await alice.post('/v2/team/app/blobs/uploads/'), 'upload while read-only from the config');
    assert.equal((await switchTo(alice, false)).status, 403, 'only admins switch it');
    assert.equal((await switchTo(admin, 'no')).status, 400, 'a body that is not {"enabled": boolean}');
    const off = await switchTo(admin, false);
    assert.equal(off.status, 200);
    assert.equal((JSON.parse(off.body.toString()) as { enabled: boolean }).enabled, false);

    const image = await pushImage(alice, 'team/app', { tag: 'v1' });
    const on = await switchTo(admin, true);
    assert.equal(on.status, 200);
    const state = JSON.parse((await admin.get('/admin/v1/read-only')).body.toString()) as { enabled: boolean; by: string; since: string };
    assert.equal(state.enabled, true);
    assert.equal(state.by, 'admin');
    assert.match(state.since, /^\d{4}-\d{2}-\d{2}T/);

    // Pulls go on.
    assert.equal((await alice.get('/v2/team/app/manifests/v1', { Accept: MT.ociManifest })).status, 200);
    assert.equal((await alice.get(`/v2/team/app/blobs/${image.config.digest}`)).status, 200);
    assert.equal((await alice.get('/v2/team/app/tags/list')).status, 200);
    // Every write is refused, saying why.
    expectReadOnly(await alice.post('/v2/team/app/blobs/uploads/'), 'upload');
    expectReadOnly(await alice.post(`/v2/team/other/blobs/uploads/?mount=${image.config.digest}&from=team/app`), 'mount');
    expectReadOnly(await alice.put('/v2/team/app/manifests/v2', { headers: { 'Content-Type': MT.ociManifest }, body: image.bytes }), 'manifest PUT');
    expectReadOnly(await alice.delete(`/v2/team/app/manifests/${image.digest}`), 'manifest DELETE');
    expectReadOnly(await alice.delete(`/v2/team/app/blobs/${image.config.digest}`), 'blob DELETE');
    expectReadOnly(await admin.delete('/admin/v1/repositories/team/app'), 'repository DELETE');
    expectReadOnly(await alice.patch('/v2/team/app/blobs/uploads/some-session', { body: randomData(10) }), 'upload PATCH');
    // Scheduled GC pauses and says so (it runs every second in this config).
    for (let i = 0; i < 60 && !wharf.output().includes('scheduled garbage collection skipped'); i++) await new Promise((r) => setTimeout(r, 100));
    assert.match(wharf.output(), /scheduled garbage collection skipped: the registry is read-only/);
    assert.match(wharf.output(), /read-only mode on/);

    assert.equal((await switchTo(admin, false)).status, 200);
    assert.equal((await pushImage(alice, 'team/app', { tag: 'v2' })).digest.startsWith('sha256:'), true, 'pushes work again');
  } finally {
    await wharf.stop();
    await rm(dir, { recursive: true, force: true });
  }
});
