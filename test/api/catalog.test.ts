// GET /v2/_catalog with n / last / Link (Docker Registry API; paginated like tags/list).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestServer, type TestServer } from '../support/server.js';
import { Client, expectStatus, json, type Res } from './support/http.js';
import { asciiSorted, expectErrorStatus, nextLink, pushImage } from './support/registry.js';

interface Catalog {
  repositories: string[] | null;
}

describe('catalog', () => {
  let srv: TestServer;
  let c: Client;
  // A fresh server: these are the only repositories.
  const repos = ['zulu', 'alpha', 'beta/one', 'beta/two', 'beta', 'charlie.d_e', 'delta-x/y/z', 'echo', '0numeric'];
  const sorted = asciiSorted(repos);

  before(async () => {
    srv = await startTestServer();
    c = new Client(srv.url);
    for (const r of repos) await pushImage(c, r, { tag: 'latest' });
  });
  after(async () => {
    await srv.close();
  });

  function list(res: Res): string[] {
    expectStatus(res, 200);
    const doc = json<Catalog>(res);
    assert.ok(Array.isArray(doc.repositories), `repositories must be an array: ${res.body.toString()}`);
    return doc.repositories;
  }

  it('lists every repository, sorted', async () => {
    const res = await c.get('/v2/_catalog');
    assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
    assert.deepEqual(list(res), sorted);
  });

  it('?n=4 pages with Link rel="next" through every repository exactly once', async () => {
    let url: string | null = '/v2/_catalog?n=4';
    const seen: string[] = [];
    let pages = 0;
    while (url !== null) {
      const res = await c.get(url);
      const page = list(res);
      assert.ok(page.length <= 4);
      url = nextLink(res);
      if (url !== null) assert.equal(page.length, 4);
      seen.push(...page);
      pages += 1;
      assert.ok(pages < 10, 'pagination does not terminate');
    }
    assert.deepEqual(seen, sorted);
  });

  it('?n=0 → empty list, no Link', async () => {
    const res = await c.get('/v2/_catalog?n=0');
    assert.deepEqual(list(res), []);
    assert.equal(res.headers.get('link'), null);
  });

  it('?n=2&last=<repo> → the 2 repositories after it', async () => {
    const res = await c.get(`/v2/_catalog?n=2&last=${sorted[2]}`);
    assert.deepEqual(list(res), sorted.slice(3, 5));
  });

  it('?last=<repo> without n → everything after it', async () => {
    const res = await c.get(`/v2/_catalog?last=${sorted[4]}`);
    assert.deepEqual(list(res), sorted.slice(5));
  });

  it('?last=<a name that is not a repository> → the repositories sorting after it', async () => {
    const res = await c.get('/v2/_catalog?last=c');
    assert.deepEqual(list(res), sorted.filter((r) => r > 'c'));
  });

  it('the last page has no Link', async () => {
    const res = await c.get(`/v2/_catalog?n=50`);
    assert.deepEqual(list(res), sorted);
    assert.equal(res.headers.get('link'), null);
  });

  it('a malformed n → 400 (or ignored), never 5xx', async () => {
    for (const n of ['-3', 'x', '1e3', '99999999999999999999999']) {
      const res = await c.get(`/v2/_catalog?n=${n}`);
      if (res.status === 200) continue;
      expectErrorStatus(res, 400);
    }
  });

  it('repositories with several manifests and nested children are listed once each', async () => {
    await pushImage(c, 'alpha', { tag: 'second' });
    await pushImage(c, 'beta', { tag: 'second' });
    const res = await c.get('/v2/_catalog');
    assert.deepEqual(list(res), sorted);
  });

  it('a new repository appears in its sorted place', async () => {
    await pushImage(c, 'bravo', { tag: 'x' });
    const res = await c.get('/v2/_catalog');
    assert.deepEqual(list(res), asciiSorted([...repos, 'bravo']));
  });
});
