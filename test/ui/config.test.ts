// ui.path, ui.title and ui.enabled against a real server (with the built UI).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startTestServer } from '../support/server.js';

test('ui.path moves the UI and ui.title names it; the registry API keeps its paths', async () => {
  const r = await startTestServer({ ui: { path: '/ui/', title: 'Acme <Registry>' } });
  try {
    const page = await fetch(`${r.url}/ui/`);
    assert.equal(page.status, 200);
    const html = await page.text();
    assert.match(html, /<title>Acme &#60;Registry&#62;<\/title>/, 'escaped');
    const script = /src="(\/ui\/assets\/main-\w+\.js)"/.exec(html)![1]!;
    assert.equal((await fetch(`${r.url}${script}`)).status, 200);
    assert.equal((await fetch(`${r.url}/`)).status, 404, 'nothing at / any more');
    assert.equal((await fetch(`${r.url}/ui/assets/nope.js`)).status, 404);
    assert.equal((await fetch(`${r.url}/v2/`)).status, 200);
    assert.equal((await fetch(`${r.url}/api/v1/session`)).status, 200);
  } finally {
    await r.close();
  }
});

test('ui.enabled false serves neither the UI nor its API', async () => {
  const r = await startTestServer({ ui: { enabled: false } });
  try {
    assert.equal((await fetch(`${r.url}/`)).status, 404);
    assert.equal((await fetch(`${r.url}/api/v1/session`)).status, 404);
    assert.equal((await fetch(`${r.url}/v2/`)).status, 200);
  } finally {
    await r.close();
  }
});

test('a ui.path under the registry API is a config error', async () => {
  await assert.rejects(startTestServer({ ui: { path: '/v2/' } }), /ui\.path|must not be under/);
});
