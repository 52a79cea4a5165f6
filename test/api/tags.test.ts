// end-8a/8b: GET /v2/<name>/tags/list with n / last / Link.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestServer, type TestServer } from '../support/server.js';
import { Client, expectStatus, json, type Res } from './support/http.js';
import { MT, asciiSorted, assertSorted, expectError, expectErrorStatus, nextLink, pushImage, putManifest, repoName } from './support/registry.js';

interface TagList {
  name: string;
  tags: string[] | null;
}

describe('tags list', () => {
  let srv: TestServer;
  let c: Client;
  let repo: string;
  // Lowercase-only tags so that ASCIIbetical and lexical order coincide for the pagination tests.
  const tags = ['v1.0', 'latest', 'alpha', 'beta', '1.2.3', 'v1.1', 'gamma', 'zeta', '0', 'delta_x', 'epsilon-y'];
  const sorted = asciiSorted(tags);

  before(async () => {
    srv = await startTestServer();
    c = new Client(srv.url);
    repo = repoName('tags');
    const img = await pushImage(c, repo);
    for (const t of tags) expectStatus(await putManifest(c, repo, t, img.bytes, MT.ociManifest), 201);
  });
  after(async () => {
    await srv.close();
  });

  function body(res: Res): TagList {
    const doc = json<TagList>(res);
    assert.equal(doc.name, repo, 'tags list must name the repository');
    assert.ok(Array.isArray(doc.tags), `tags must be an array: ${res.body.toString()}`);
    return doc;
  }

  it('lists every tag, sorted, with the repository name', async () => {
    const res = await c.get(`/v2/${repo}/tags/list`);
    expectStatus(res, 200);
    assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
    const doc = body(res);
    assert.deepEqual(doc.tags, sorted);
  });

  it('mixed-case tags come back in lexical or ASCIIbetical order', async () => {
    const r = repoName('tags');
    const img = await pushImage(c, r);
    const mixed = ['b', 'A', 'a', 'B', 'Z', '_x', '9', 'c.d', 'C-d'];
    for (const t of mixed) expectStatus(await putManifest(c, r, t, img.bytes, MT.ociManifest), 201);
    const res = await c.get(`/v2/${r}/tags/list`);
    expectStatus(res, 200);
    const list = json<TagList>(res).tags ?? [];
    assert.deepEqual([...list].sort(), [...mixed].sort());
    assertSorted(list, 'tags');
  });

  it('?n=3 → the first 3 tags and Link: <…>; rel="next"; following Link pages through everything exactly once', async () => {
    let url: string | null = `/v2/${repo}/tags/list?n=3`;
    const seen: string[] = [];
    let pages = 0;
    while (url !== null) {
      const res = await c.get(url);
      expectStatus(res, 200);
      const page = body(res).tags ?? [];
      assert.ok(page.length <= 3, `page larger than n: ${JSON.stringify(page)}`);
      url = nextLink(res);
      if (url !== null) assert.equal(page.length, 3, 'a page followed by a Link must be full (n results)');
      seen.push(...page);
      pages += 1;
      assert.ok(pages < 10, 'pagination does not terminate');
    }
    assert.deepEqual(seen, sorted);
    assert.equal(pages, Math.ceil(sorted.length / 3));
  });

  it('the last page (fewer than n left) has no Link header', async () => {
    const res = await c.get(`/v2/${repo}/tags/list?n=5&last=${sorted[7]}`);
    expectStatus(res, 200);
    assert.deepEqual(body(res).tags, sorted.slice(8));
    assert.equal(res.headers.get('link'), null);
  });

  it('?n=<total> returns all tags', async () => {
    const res = await c.get(`/v2/${repo}/tags/list?n=${tags.length}`);
    expectStatus(res, 200);
    assert.deepEqual(body(res).tags, sorted);
  });

  it('?n larger than the total returns all tags and no Link', async () => {
    const res = await c.get(`/v2/${repo}/tags/list?n=500`);
    expectStatus(res, 200);
    assert.deepEqual(body(res).tags, sorted);
    assert.equal(res.headers.get('link'), null);
  });

  it('?n=0 → an empty list and no Link header', async () => {
    const res = await c.get(`/v2/${repo}/tags/list?n=0`);
    expectStatus(res, 200);
    assert.deepEqual(body(res).tags, []);
    assert.equal(res.headers.get('link'), null);
  });

  it('?n=2&last=<tag> → the 2 tags after <tag> (exclusive)', async () => {
    const res = await c.get(`/v2/${repo}/tags/list?n=2&last=${sorted[3]}`);
    expectStatus(res, 200);
    assert.deepEqual(body(res).tags, sorted.slice(4, 6));
  });

  it('?last=<tag> without n → every tag after <tag>', async () => {
    const res = await c.get(`/v2/${repo}/tags/list?last=${sorted[5]}`);
    expectStatus(res, 200);
    assert.deepEqual(body(res).tags, sorted.slice(6));
  });

  it('?last=<a tag that does not exist> → the tags sorting after it', async () => {
    const res = await c.get(`/v2/${repo}/tags/list?last=c`);
    expectStatus(res, 200);
    assert.deepEqual(body(res).tags, sorted.filter((t) => t > 'c'));
  });

  it('?last=<the last tag> → empty list', async () => {
    const res = await c.get(`/v2/${repo}/tags/list?last=${sorted[sorted.length - 1]}`);
    expectStatus(res, 200);
    assert.deepEqual(body(res).tags, []);
  });

  it('a huge n is either honoured or capped with a Link to the rest', async () => {
    const res = await c.get(`/v2/${repo}/tags/list?n=1000000000`);
    expectStatus(res, 200);
    const page = body(res).tags ?? [];
    if (page.length < sorted.length) assert.notEqual(res.headers.get('link'), null);
    else assert.deepEqual(page, sorted);
  });

  it('a malformed n → 400, never 5xx', async () => {
    for (const n of ['-1', 'abc', '1.5', '', '99999999999999999999999']) {
      const res = await c.get(`/v2/${repo}/tags/list?n=${n}`);
      if (res.status === 200) continue; // tolerated: n ignored or clamped
      expectErrorStatus(res, 400);
    }
  });

  it('deleted tags disappear from the list', async () => {
    const r = repoName('tags');
    const img = await pushImage(c, r, { tag: 'a' });
    expectStatus(await putManifest(c, r, 'b', img.bytes, MT.ociManifest), 201);
    expectStatus(await c.delete(`/v2/${r}/manifests/a`), 202);
    const res = await c.get(`/v2/${r}/tags/list`);
    expectStatus(res, 200);
    assert.deepEqual(json<TagList>(res).tags, ['b']);
  });

  it('a repository with manifests but no tags → 200 with an empty list', async () => {
    const r = repoName('tags');
    await pushImage(c, r); // by digest only
    const res = await c.get(`/v2/${r}/tags/list`);
    expectStatus(res, 200);
    const doc = json<TagList>(res);
    assert.equal(doc.name, r);
    assert.deepEqual(doc.tags ?? [], []);
  });

  it('an unknown repository → 404 NAME_UNKNOWN', async () => {
    expectError(await c.get(`/v2/${repoName('none')}/tags/list`), 404, 'NAME_UNKNOWN');
  });

  it('an invalid repository name → 400 NAME_INVALID (or 404 NAME_UNKNOWN)', async () => {
    expectError(await c.get('/v2/NotValid/tags/list'), [400, 404], ['NAME_INVALID', 'NAME_UNKNOWN']);
  });

  it('tags of other repositories never leak in', async () => {
    const a = repoName('iso');
    const b = repoName('iso');
    await pushImage(c, a, { tag: 'only-a' });
    await pushImage(c, b, { tag: 'only-b' });
    const res = await c.get(`/v2/${a}/tags/list`);
    assert.deepEqual(json<TagList>(res).tags, ['only-a']);
  });

  it('a repository whose name is a prefix of another does not list the other’s tags', async () => {
    const base = repoName('prefix');
    await pushImage(c, base, { tag: 'mine' });
    await pushImage(c, `${base}/child`, { tag: 'childs' });
    await pushImage(c, `${base}x`, { tag: 'sibling' });
    const res = await c.get(`/v2/${base}/tags/list`);
    expectStatus(res, 200);
    assert.deepEqual(json<TagList>(res).tags, ['mine']);
  });
});
