import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestServer, type TestServer } from '../support/server.js';
import { Client, json } from './support/http.js';
import { digestOf, expectError, pushBlob, pushImage, randomData } from './support/registry.js';

interface Usage {
  name: string;
  blobs: number;
  bytes: number;
  manifests: number;
  tags: number;
  quota: number | null;
}

async function waitFor(check: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('repository deletion and the admin API', () => {
  let srv: TestServer;
  let c: Client;
  before(async () => {
    srv = await startTestServer({ gc: { interval: '100ms', gracePeriod: '1s' } });
    c = new Client(srv.url);
  });
  after(async () => {
    await srv.close();
  });

  it('usage is reported per repository; DELETE removes the repository at once and GC reclaims what only it used', async () => {
    const shared = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', shared: true })); // one config, two images
    const doomed = await pushImage(c, 'admin/doomed', { tag: 'v1', layers: 2, config: shared });
    await pushImage(c, 'admin/keeper', { tag: 'v1', config: shared });
    const usage = json<Usage>(await c.get('/admin/v1/repositories/admin/doomed'));
    assert.equal(usage.tags, 1);
    assert.equal(usage.manifests, 1);
    assert.equal(usage.blobs, 3);
    assert.equal(usage.bytes, shared.length + doomed.layers[0]!.size + doomed.layers[1]!.size);
    assert.equal(usage.quota, null);
    const list = json<{ repositories: Usage[] }>(await c.get('/admin/v1/repositories'));
    assert.ok(list.repositories.some((r) => r.name === 'admin/keeper'));

    assert.equal((await c.req('DELETE', '/admin/v1/repositories/admin/doomed')).status, 202);
    expectError(await c.get('/v2/admin/doomed/manifests/v1'), 404, 'MANIFEST_UNKNOWN');
    expectError(await c.get('/v2/admin/doomed/tags/list'), 404, 'NAME_UNKNOWN');
    expectError(await c.get(`/v2/admin/doomed/blobs/${doomed.config.digest}`), 404, 'BLOB_UNKNOWN');
    expectError(await c.get('/admin/v1/repositories/admin/doomed'), 404, 'NAME_UNKNOWN');
    expectError(await c.req('DELETE', '/admin/v1/repositories/admin/doomed'), 404, 'NAME_UNKNOWN');
    const catalog = json<{ repositories: string[] }>(await c.get('/v2/_catalog'));
    assert.ok(!catalog.repositories.includes('admin/doomed'));

    // Blobs only the deleted repository used are reclaimed by GC; the shared one stays for admin/keeper.
    await waitFor(async () => {
      const metrics = await (await fetch(`${srv.metricsUrl}/metrics`)).text();
      return Number(/^wharf_gc_deleted_blobs_total (\d+)$/m.exec(metrics)?.[1] ?? 0) >= 2;
    }, 'GC to reclaim the deleted repository');
    assert.equal((await c.get(`/v2/admin/keeper/blobs/${digestOf(shared)}`)).status, 200);
    assert.equal((await c.req('POST', `/v2/admin/probe/blobs/uploads/?mount=${doomed.layers[0]!.digest}`)).status, 202, 'the deleted blob is gone registry-wide');
  });
});

describe('deletes switched off', () => {
  it('the admin API refuses repository deletion with 405 UNSUPPORTED', async () => {
    const srv = await startTestServer({ registry: { deleteEnabled: false } });
    try {
      const c = new Client(srv.url);
      await pushImage(c, 'kept/repo', { tag: 'v1' });
      expectError(await c.req('DELETE', '/admin/v1/repositories/kept/repo'), 405, 'UNSUPPORTED');
      assert.equal((await c.get('/v2/kept/repo/manifests/v1', { Accept: 'application/vnd.oci.image.manifest.v1+json' })).status, 200);
    } finally {
      await srv.close();
    }
  });
});

describe('storage quotas', () => {
  let srv: TestServer;
  let c: Client;
  before(async () => {
    srv = await startTestServer({ quotas: [{ repositories: ['quota/**'], maxBytes: '10KB' }] });
    c = new Client(srv.url);
  });
  after(async () => {
    await srv.close();
  });

  it('a push that would exceed the quota is refused with 403 DENIED before its data is accepted', async () => {
    const first = randomData(6000);
    await pushBlob(c, 'quota/a', first);
    const second = randomData(6000);
    const refused = await c.req('POST', `/v2/quota/a/blobs/uploads/?digest=${digestOf(second)}`, {
      body: second,
      headers: { 'Content-Type': 'application/octet-stream' },
    });
    expectError(refused, 403, 'DENIED');
    assert.match(refused.body.toString(), /quota of 10000 bytes \(6000 used\)/);
    expectError(await c.req('HEAD', `/v2/quota/a/blobs/${digestOf(second)}`), 404, 'BLOB_UNKNOWN');
    const usage = json<Usage>(await c.get('/admin/v1/repositories/quota/a'));
    assert.deepEqual([usage.bytes, usage.quota], [6000, 10000]);
  });

  it('chunked uploads are refused at the chunk that would cross the quota; mounts count too; re-pushing counts nothing', async () => {
    const base = randomData(6000);
    await pushBlob(c, 'quota/b', base);
    const start = await c.req('POST', '/v2/quota/b/blobs/uploads/');
    assert.equal(start.status, 202, 'room is left, so a session may start');
    const location = start.headers.get('location')!;
    const ok = await c.req('PATCH', location, { body: randomData(3000), headers: { 'Content-Type': 'application/octet-stream', 'Content-Range': '0-2999' } });
    assert.equal(ok.status, 202);
    expectError(
      await c.req('PATCH', location, { body: randomData(2000), headers: { 'Content-Type': 'application/octet-stream', 'Content-Range': '3000-4999' } }),
      403,
      'DENIED',
    );
    const elsewhere = randomData(5000);
    await pushBlob(c, 'other/repo', elsewhere);
    expectError(await c.req('POST', `/v2/quota/b/blobs/uploads/?mount=${digestOf(elsewhere)}&from=other/repo`), 403, 'DENIED');
    const again = await c.req('POST', `/v2/quota/b/blobs/uploads/?digest=${digestOf(base)}`, { body: base, headers: { 'Content-Type': 'application/octet-stream' } });
    assert.equal(again.status, 201, 'a blob the repository already holds costs no quota');
    assert.equal((await pushBlob(c, 'unlimited/repo', randomData(20_000))).size, 20_000, 'repositories no rule matches have no quota');
  });
});
