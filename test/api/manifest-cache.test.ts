// Manifest GETs are answered from an in-process cache while the metadata store's content version is unchanged
// (src/registry/manifest-cache.ts). These check that a cached answer never outlives what it answered: a tag moved
// or deleted, a manifest deleted, through this server or by another process writing the same database (the CLI).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestServer, type TestServer } from '../support/server.js';
import { runWharf } from '../support/processes.js';
import { Client, expectStatus } from './support/http.js';
import { MT, expectError, pushImage, repoName } from './support/registry.js';

const ACCEPT = { Accept: [MT.ociManifest, MT.ociIndex, MT.dockerManifest, MT.dockerList].join(', ') };

describe('manifest lookup cache', () => {
  let srv: TestServer;
  let c: Client;
  before(async () => {
    srv = await startTestServer();
    c = new Client(srv.url);
  });
  after(async () => {
    await srv.close();
  });

  /** GETs the reference twice (the second is the cached answer) and returns the digest both served. */
  async function servedTwice(repo: string, ref: string): Promise<string> {
    const first = await c.get(`/v2/${repo}/manifests/${ref}`, ACCEPT);
    expectStatus(first, 200);
    const second = await c.get(`/v2/${repo}/manifests/${ref}`, ACCEPT);
    expectStatus(second, 200);
    assert.deepEqual(second.body, first.body);
    return second.headers.get('docker-content-digest')!;
  }

  async function gone(repo: string, ref: string, code = 'MANIFEST_UNKNOWN'): Promise<void> {
    expectError(await c.get(`/v2/${repo}/manifests/${ref}`, ACCEPT), 404, code);
  }

  it('follows a tag moved and deleted through the API, and a manifest deleted by digest', async () => {
    const repo = repoName('cache-api');
    const a = await pushImage(c, repo, { tag: 'latest' });
    assert.equal(await servedTwice(repo, 'latest'), a.digest);
    assert.equal(await servedTwice(repo, a.digest), a.digest);

    const b = await pushImage(c, repo, { tag: 'latest' });
    assert.equal(await servedTwice(repo, 'latest'), b.digest, 'the moved tag, not the cached answer');

    expectStatus(await c.delete(`/v2/${repo}/manifests/${b.digest}`), 202);
    await gone(repo, 'latest');
    await gone(repo, b.digest);
    assert.equal(await servedTwice(repo, a.digest), a.digest, 'the other manifest is still served');
  });

  it('follows changes another process makes to the same database (wharf repo delete)', async () => {
    const repo = repoName('cache-cli');
    const a = await pushImage(c, repo, { tag: 'v1' });
    assert.equal(await servedTwice(repo, 'v1'), a.digest);
    assert.equal(await servedTwice(repo, a.digest), a.digest);

    const run = await runWharf(['repo', 'delete', repo, '--data-dir', srv.dataDir]);
    assert.equal(run.code, 0, run.stderr);
    // No write went through this server since the cached answers: only the other connection's commit says so.
    await gone(repo, 'v1');
    await gone(repo, a.digest);
  });
});
