// The catalog's work per request is bounded: a caller who may see a few repositories among thousands gets short
// pages with a Link to continue, never a scan of everything, and paging through still yields exactly what it may see.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { catalogScanBudget } from '../../src/api/handlers/catalog.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { writeHtpasswd } from './support/auth.js';
import { Client, expectStatus, json, type Res } from './support/http.js';
import { expectError, nextLink } from './support/registry.js';

const hiddenCount = 12_000;
// Spread so that visible names fall at the start, in the middle of the hidden ones and at the end.
const visible = ['aaa/first', 'hidden/02500-but-public', 'vis/a', 'vis/b', 'zzz/last'];

describe('catalog scan budget', () => {
  let srv: TestServer;
  let c: Client;

  let workDir = '';
  before(async () => {
    workDir = await mkdtemp(join(tmpdir(), 'wharf-catalog-bounds-'));
    srv = await startTestServer({
      auth: {
        mode: 'basic',
        htpasswd: { path: await writeHtpasswd(workDir, [{ name: 'someone', password: 'unused-password' }]) },
        anonymous: [{ repositories: ['aaa/**', 'vis/**', 'zzz/**', 'hidden/02500-but-public'], actions: ['pull'] }],
      },
    });
    c = new Client(srv.url);
    // Seeded straight into the store: only names matter to the catalog, and pushing thousands of images would be slow.
    const db = new Database(join(srv.dataDir, 'wharf.db'));
    try {
      const insert = db.prepare('INSERT INTO repositories (name, created_at) VALUES (?, ?)');
      db.transaction(() => {
        for (let i = 0; i < hiddenCount; i++) insert.run(`hidden/${String(i).padStart(5, '0')}`, Date.now());
        for (const name of visible) insert.run(name, Date.now());
      })();
    } finally {
      db.close();
    }
  });
  after(async () => {
    await srv.close();
    await rm(workDir, { recursive: true, force: true });
  });

  function names(res: Res): string[] {
    expectStatus(res, 200);
    return json<{ repositories: string[] }>(res).repositories;
  }

  async function walk(first: string): Promise<{ seen: string[]; pages: Res[] }> {
    const seen: string[] = [];
    const pages: Res[] = [];
    for (let url: string | null = first; url !== null; url = nextLink(pages[pages.length - 1]!)) {
      pages.push(await c.get(url));
      seen.push(...names(pages[pages.length - 1]!));
      assert.ok(pages.length < 100, 'paging does not terminate');
    }
    return { seen, pages };
  }

  for (const n of [2, 100, 1000]) {
    it(`n=${n}: every call examines at most the budget, and paging yields exactly the visible repositories`, async () => {
      const { seen, pages } = await walk(`/v2/_catalog?n=${n}`);
      assert.deepEqual(seen, [...visible].sort());
      const total = hiddenCount + visible.length;
      // Fewer calls than this would mean some call examined more than its budget.
      assert.ok(pages.length >= Math.ceil(total / catalogScanBudget(n)), `${pages.length} calls for ${total} repositories`);
      for (const page of pages) assert.ok(names(page).length <= n);
    });
  }

  it('Link headers never name a repository the caller may not see', async () => {
    const { pages } = await walk('/v2/_catalog?n=10');
    for (const page of pages) {
      const link = page.headers.get('link');
      if (link === null) continue;
      const last = new URL(/<([^>]+)>/.exec(link)![1]!, srv.url).searchParams.get('last')!;
      assert.ok(visible.includes(last) || last.startsWith('~'), `Link names ${last}`);
      assert.doesNotMatch(last, /hidden\/\d{5}$/);
    }
  });

  it('a cursor that was not issued by this server is 400 with an OCI error', async () => {
    expectError(await c.get('/v2/_catalog?n=10&last=~bm90LWEtY3Vyc29y'), 400, 'UNSUPPORTED');
  });
});
