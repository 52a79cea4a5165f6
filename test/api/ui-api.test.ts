// The web UI's JSON API over real HTTP: sessions and their cookie, CSRF on every change, the same lockout as the
// registry API, and the registry's policy on every call (a forbidden call gets 403 even though the UI never offers it).
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { pushImage, pushManyRepositories, seed, startUiRegistry, users, type Seeded, type UiRegistry } from '../ui/support/seed.js';
import { fastWebhooks, startReceiver, type HookReceiver } from '../ui/support/receiver.js';
import { basicAuthorization, UiSession } from '../ui/support/session.js';
import { startTestServer } from '../support/server.js';
import { waitFor } from '../support/wait.js';
import { writeHtpasswd } from './support/auth.js';

describe('UI JSON API', () => {
  let r: UiRegistry;
  let s: Seeded;
  before(async () => {
    r = await startUiRegistry({ sessionTtl: '2s' }, { maxFailures: 3 });
    s = await seed(r);
  });
  after(() => r?.close());

  test('a browser gets an anonymous session with an HttpOnly, SameSite=Strict cookie and a CSRF token', async () => {
    const b = new UiSession(r.url);
    const res = await b.call('GET', 'session');
    assert.equal(res.status, 200);
    assert.match(res.headers.get('set-cookie')!, /^wharf_session=[\w-]{40,}; Max-Age=\d+; Path=\/; HttpOnly; SameSite=Strict$/);
    assert.equal(res.json.user, null);
    assert.equal(res.json.mayBrowse, true, 'anonymous may pull public/**');
    assert.ok(res.json.csrfToken.length >= 40);
    assert.match(res.headers.get('content-security-policy')!, /default-src 'self'/);
  });

  test('login checks the password, replaces the session, and refuses a wrong one with 401', async () => {
    const b = new UiSession(r.url);
    await b.call('GET', 'session');
    const anonymous = b.cookie;
    const bad = await b.call('POST', 'session', { username: 'alice', password: 'nope' });
    assert.equal(bad.status, 401);
    assert.equal(bad.json.errors[0].code, 'UNAUTHORIZED');
    const good = await b.call('POST', 'session', { username: users.alice.name, password: users.alice.password });
    assert.equal(good.status, 200);
    assert.equal(good.json.user, 'alice');
    assert.notEqual(b.cookie, anonymous, 'a new session id after login');
    const old = new UiSession(r.url);
    old.cookie = anonymous;
    assert.equal((await old.call('GET', 'session')).json.user, null, 'the pre-login id is not logged in');
  });

  test('every state-changing call needs the CSRF token of its session', async () => {
    const b = new UiSession(r.url);
    await b.login(users.admin);
    const token = b.csrf;
    b.csrf = '';
    const none = await b.call('DELETE', 'repositories/team-b/tool/tags/1.2');
    assert.equal(none.status, 403);
    assert.equal(none.json.errors[0].detail.reason, 'csrf');
    const wrong = await b.call('DELETE', 'repositories/team-b/tool/tags/1.2', undefined, { 'X-CSRF-Token': 'x'.repeat(43) });
    assert.equal(wrong.status, 403);
    const other = new UiSession(r.url);
    await other.call('GET', 'session');
    const foreign = await b.call('DELETE', 'repositories/team-b/tool/tags/1.2', undefined, { 'X-CSRF-Token': other.csrf });
    assert.equal(foreign.status, 403, "another session's token is no good");
    const login = await new UiSession(r.url).call('POST', 'session', { username: 'admin', password: users.admin.password });
    assert.equal(login.status, 403, 'even login needs the token of an open session');
    b.csrf = token;
    assert.equal((await b.call('GET', 'repositories/team-b/tool/tags')).json.tags.length, 1, 'nothing was deleted');
  });

  test('the repository list shows only what the caller may pull, searched, sorted and paged by the server', async () => {
    const anon = new UiSession(r.url);
    assert.deepEqual((await anon.call('GET', 'repositories')).json.repositories.map((x: { name: string }) => x.name), ['public/hello']);
    const bob = new UiSession(r.url);
    await bob.login(users.bob);
    const list = await bob.call('GET', 'repositories');
    assert.deepEqual(list.json.repositories.map((x: { name: string }) => x.name), ['public/hello', 'team-a/app', 'team-a/multi']);
    assert.deepEqual(list.json.repositories[1].actions, ['pull']);
    const admin = new UiSession(r.url);
    await admin.login(users.admin);
    const all = await admin.call('GET', 'repositories?sort=name&order=desc&pageSize=2&page=2');
    assert.equal(all.json.total, 5);
    assert.deepEqual(all.json.repositories.map((x: { name: string }) => x.name), ['team-a/app', 'secret/db']);
    const found = await admin.call('GET', 'repositories?q=TEAM-A');
    assert.deepEqual(found.json.repositories.map((x: { name: string }) => x.name), ['team-a/app', 'team-a/multi']);
    const bySize = await admin.call('GET', 'repositories?sort=size');
    assert.equal(bySize.json.repositories[0].name, 'team-a/app', 'two images and referrers: the largest');
    assert.ok(bySize.json.repositories[0].bytes > 140_000);
    assert.ok(bySize.json.repositories[0].pushedAt > Date.now() - 600_000);
    assert.equal((await admin.call('GET', 'repositories?sort=color')).status, 400);
    assert.equal((await admin.call('GET', 'repositories?pageSize=100000')).status, 400);
  });

  test('tags carry digest, sizes, platforms of an index, badges, and the tags sharing a digest', async () => {
    const b = new UiSession(r.url);
    await b.login(users.alice);
    const app = await b.call('GET', 'repositories/team-a/app/tags');
    assert.equal(app.status, 200);
    assert.deepEqual(app.json.actions, ['pull', 'push', 'delete']);
    const v1 = app.json.tags.find((t: { name: string }) => t.name === 'v1');
    assert.equal(v1.digest, s.app.digest);
    assert.deepEqual(v1.sharedWith.sort(), ['latest', 'stable']);
    assert.deepEqual(v1.referrers, { signed: true, sbom: true, attestations: 2 });
    assert.ok(v1.size > 73_000);
    const multi = await b.call('GET', 'repositories/team-a/multi/tags');
    assert.deepEqual(multi.json.tags[0].platforms, [
      { os: 'linux', architecture: 'amd64' },
      { os: 'linux', architecture: 'arm64', variant: 'v8' },
    ]);
    assert.ok(multi.json.tags[0].size > 2 * 73_000, 'an index counts its children');
  });

  test('an image shows config, history next to layer sizes, layers, referrers and its tags', async () => {
    const b = new UiSession(r.url);
    await b.login(users.bob);
    const img = await b.call('GET', 'repositories/team-a/app/manifests/v1');
    assert.equal(img.status, 200);
    assert.equal(img.json.kind, 'image');
    assert.deepEqual(img.json.config.entrypoint, ['/usr/local/bin/app']);
    assert.deepEqual(img.json.config.exposedPorts, ['8080/tcp']);
    assert.deepEqual(img.json.history.map((h: { layer: { size: number } | null }) => h.layer?.size ?? null), [3000, 70_000, null]);
    assert.deepEqual(img.json.tags.sort(), ['latest', 'stable', 'v1']);
    assert.deepEqual(img.json.referrers.map((x: { artifactType: string }) => x.artifactType).sort(), ['application/spdx+json', 'application/vnd.dev.cosign.artifact.sig.v1+json']);
    const index = await b.call('GET', `repositories/team-a/multi/manifests/${s.index}`);
    assert.deepEqual(index.json.children.map((c: { platform: { architecture: string } }) => c.platform.architecture), ['amd64', 'arm64']);
    assert.equal((await b.call('GET', 'repositories/team-a/app/manifests/nope')).status, 404);
    assert.equal((await b.call('GET', 'repositories/team-a/app/manifests/sha256:zz')).status, 400);
  });

  test('forbidden calls get 403 (401 for anonymous), whatever the UI offers', async () => {
    const bob = new UiSession(r.url);
    await bob.login(users.bob);
    const del = await bob.call('DELETE', 'repositories/team-a/app/tags/old');
    assert.equal(del.status, 403);
    assert.equal(del.json.errors[0].code, 'DENIED');
    assert.equal((await bob.call('DELETE', `repositories/team-a/app/manifests/${s.old.digest}`)).status, 403);
    assert.equal((await bob.call('DELETE', 'repositories/team-a/app')).status, 403);
    assert.equal((await bob.call('GET', 'repositories/secret/db/tags')).status, 403);
    assert.equal((await bob.call('GET', 'repositories/secret/db/manifests/15')).status, 403);
    assert.equal((await bob.call('GET', 'storage')).status, 403);
    assert.equal((await bob.call('POST', 'gc', { dryRun: true })).status, 403);
    const anon = new UiSession(r.url);
    await anon.call('GET', 'session');
    assert.equal((await anon.call('GET', 'repositories/team-a/app/tags')).status, 401);
    assert.equal((await anon.call('DELETE', 'repositories/public/hello/tags/latest')).status, 401);
    assert.equal((await bob.call('GET', 'repositories/team-a/app/tags')).json.tags.length, 5, 'nothing was deleted');
  });

  test('untag removes one tag; deleting a manifest removes its tags and names them', async () => {
    const alice = new UiSession(r.url);
    await alice.login(users.alice);
    assert.equal((await alice.call('DELETE', 'repositories/team-a/app/tags/old')).status, 204);
    let tags = (await alice.call('GET', 'repositories/team-a/app/tags')).json.tags.map((t: { name: string }) => t.name);
    assert.deepEqual(tags, ['latest', 'stable', 'v0', 'v1']);
    const gone = await alice.call('DELETE', `repositories/team-a/app/manifests/${s.old.digest}`);
    assert.equal(gone.status, 200);
    assert.deepEqual(gone.json.tags, ['v0']);
    tags = (await alice.call('GET', 'repositories/team-a/app/tags')).json.tags.map((t: { name: string }) => t.name);
    assert.deepEqual(tags, ['latest', 'stable', 'v1']);
    const pulled = await fetch(`${r.url}/v2/team-a/app/manifests/v0`, { headers: { Authorization: r.admin } });
    assert.equal(pulled.status, 404, 'the registry API agrees');
  });

  test('admins see storage, run a GC dry run and see webhook deliveries', async () => {
    const admin = new UiSession(r.url);
    await admin.login(users.admin);
    const storage = await admin.call('GET', 'storage');
    assert.equal(storage.status, 200);
    assert.equal(storage.json.totals.repositories, 5);
    assert.ok(storage.json.disk.free > 0);
    assert.equal(storage.json.repositories.length, 5);
    assert.equal(storage.json.next, null, 'one page');
    assert.ok('quota' in storage.json.repositories[0]);
    const dry = await admin.call('POST', 'gc', { dryRun: true });
    assert.equal(dry.status, 200);
    assert.equal(dry.json.dryRun, true);
    assert.equal((await admin.call('POST', 'gc', { dryRun: 'yes' })).status, 400);
    assert.equal((await admin.call('GET', 'storage')).json.lastGc, null, 'a dry run is no pass');
    const real = await admin.call('POST', 'gc', { dryRun: false });
    assert.equal(real.status, 200);
    // The last pass comes from the metadata store, as `wharf status` and metrics see it.
    const { lastGc } = (await admin.call('GET', 'storage')).json;
    assert.equal(lastGc.trigger, 'ui');
    assert.equal(lastGc.runs, 1);
    assert.ok(Date.now() - lastGc.at < 60_000);
    assert.deepEqual(lastGc.report, { ...real.json, durationMs: lastGc.report.durationMs });
    assert.ok(Math.abs(lastGc.report.durationMs - real.json.durationMs) <= 1);
    assert.deepEqual((await admin.call('GET', 'webhooks')).json, { endpoints: [], dead: [] });
  });

  test('logout ends the session; an idle session expires', async () => {
    const b = new UiSession(r.url);
    await b.login(users.alice);
    const cookie = b.cookie;
    const out = await b.call('DELETE', 'session');
    assert.equal(out.status, 200);
    assert.match(out.headers.get('set-cookie')!, /^wharf_session=; Max-Age=0/);
    const replay = new UiSession(r.url);
    replay.cookie = cookie;
    assert.equal((await replay.call('GET', 'session')).json.user, null, 'the old cookie is worthless');
    const idle = new UiSession(r.url);
    await idle.login(users.alice);
    await new Promise((resolve) => setTimeout(resolve, 2200));
    assert.equal((await idle.call('GET', 'repositories/team-a/app/tags')).status, 401, 'expired after sessionTtl');
  });

  test('UI logins count against the same lockout as the registry API', async () => {
    const b = new UiSession(r.url);
    await b.call('GET', 'session');
    for (let i = 0; i < 3; i++) assert.equal((await b.call('POST', 'session', { username: 'bob', password: `wrong${i}` })).status, 401);
    const locked = await b.call('POST', 'session', { username: users.bob.name, password: users.bob.password });
    assert.equal(locked.status, 429, 'the right password is refused while locked');
    const api = await fetch(`${r.url}/v2/team-a/app/tags/list`, { headers: { Authorization: basicAuthorization(users.bob.name, users.bob.password) } });
    assert.equal(api.status, 429, 'and the registry API refuses bob from this address too');
    await fetch(`${r.url}/admin/v1/auth/locks?user=bob`, { method: 'DELETE', headers: { Authorization: r.admin } });
  });

  test('hostile input: bad JSON, wrong content type, huge bodies, bad names', async () => {
    const b = new UiSession(r.url);
    await b.call('GET', 'session');
    const raw = (body: string, type = 'application/json') =>
      fetch(`${r.url}/api/v1/session`, { method: 'POST', headers: { Cookie: b.cookie!, 'X-CSRF-Token': b.csrf, 'Content-Type': type }, body });
    assert.equal((await raw('{')).status, 400);
    assert.equal((await raw('[]')).status, 400);
    assert.equal((await raw('username=a', 'application/x-www-form-urlencoded')).status, 415);
    assert.equal((await raw(JSON.stringify({ username: 'a', password: 'x'.repeat(10_000) }))).status, 413);
    assert.equal((await raw(JSON.stringify({ username: 1, password: 2 }))).status, 400);
    assert.equal((await b.call('GET', 'repositories/UPPER/tags')).status, 400);
    assert.equal((await b.call('GET', 'repositories/%zz/tags')).status, 400);
    assert.equal((await b.call('GET', 'nothing-here')).status, 404);
    assert.equal((await b.call('PUT', 'session')).status, 405);
  });
});

describe('UI JSON API: webhook dead letters and storage paging', () => {
  let r: UiRegistry;
  let receiver: HookReceiver;
  before(async () => {
    receiver = await startReceiver(500);
    r = await startUiRegistry({}, {}, fastWebhooks(receiver.url, ['team-a/hooked']));
  });
  after(async () => {
    await r?.close();
    await receiver?.close();
  });

  test('a real dead letter is retried by admins only, with the CSRF token, and then delivered', async () => {
    const admin = new UiSession(r.url);
    await admin.login(users.admin);
    assert.deepEqual((await admin.call('GET', 'webhooks')).json, { endpoints: [{ endpoint: 'ci', pending: 0, dead: 0 }], dead: [] }, 'a configured endpoint shows before any event');
    await pushImage(r, 'team-a/hooked', ['v1'], { layerSizes: [100] });
    const hooksNow = async () => (await admin.call('GET', 'webhooks')).json;
    await waitFor('a dead letter', async () => (await hooksNow()).dead.length > 0);
    const hooks = await hooksNow();
    assert.deepEqual(hooks.endpoints, [{ endpoint: 'ci', pending: 0, dead: 1 }]);
    assert.deepEqual([hooks.dead[0].endpoint, hooks.dead[0].repository, hooks.dead[0].attempts, hooks.dead[0].lastError], ['ci', 'team-a/hooked', 2, 'HTTP 500']);

    const bob = new UiSession(r.url);
    await bob.login(users.bob);
    const refused = await bob.call('POST', 'webhooks/retry', {});
    assert.equal(refused.status, 403);
    assert.equal(refused.json.errors[0].code, 'DENIED');
    assert.equal((await bob.call('GET', 'webhooks')).status, 403);
    const token = admin.csrf;
    admin.csrf = '';
    const noCsrf = await admin.call('POST', 'webhooks/retry', {});
    assert.equal(noCsrf.status, 403);
    assert.equal(noCsrf.json.errors[0].detail.reason, 'csrf');
    admin.csrf = token;
    assert.equal((await admin.call('POST', 'webhooks/retry', { endpoint: 42 })).status, 400);
    assert.deepEqual((await admin.call('POST', 'webhooks/retry', { endpoint: 'other' })).json, { requeued: 0 }, 'another endpoint has none');
    assert.equal((await admin.call('GET', 'webhooks')).json.dead.length, 1, 'still dead after the refused and empty retries');
    assert.equal(receiver.hits.length, 2);

    receiver.status = 200;
    assert.deepEqual((await admin.call('POST', 'webhooks/retry', { endpoint: 'ci' })).json, { requeued: 1 });
    await waitFor('the retried delivery', () => receiver.accepted.length > 0);
    assert.deepEqual(receiver.accepted, [{ action: 'push', repository: 'team-a/hooked', tag: 'v1' }]);
    await waitFor('the queue to empty', async () => (await hooksNow()).endpoints[0].pending === 0);
    assert.deepEqual(await hooksNow(), { endpoints: [{ endpoint: 'ci', pending: 0, dead: 0 }], dead: [] });
  });

  test('the storage listing pages by name with `next` and `after`', async () => {
    const names = await pushManyRepositories(r, 'many', 201);
    const admin = new UiSession(r.url);
    await admin.login(users.admin);
    const first = (await admin.call('GET', 'storage')).json;
    assert.equal(first.repositories.length, 200);
    assert.equal(first.next, 'many/r199');
    const second = (await admin.call('GET', `storage?after=${encodeURIComponent(first.next)}`)).json;
    assert.deepEqual(second.repositories.map((x: { name: string }) => x.name), [names[200], 'team-a/hooked']);
    assert.equal(second.next, null);
  });
});

describe('UI JSON API in token mode and behind a TLS proxy', () => {
  test('users log in with their registry password in token mode too, under the same policy', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ui-token-'));
    const r = await startTestServer({
      auth: {
        mode: 'token',
        token: { realm: 'http://127.0.0.1/auth/token' },
        htpasswd: { path: await writeHtpasswd(dir, [users.bob]) },
        rules: [{ users: ['bob'], repositories: ['team-a/**'], actions: ['pull'] }],
      },
    } as never);
    try {
      const b = new UiSession(r.url);
      const res = await b.login(users.bob);
      assert.equal(res.status, 200);
      assert.deepEqual([res.json.user, res.json.admin, res.json.canLogin], ['bob', false, true]);
      assert.equal((await b.call('GET', 'repositories')).status, 200);
      assert.equal((await b.call('GET', 'storage')).status, 403);
      assert.equal((await b.call('DELETE', 'repositories/team-a/x/tags/a')).status, 403);
      // A new password for bob (as `wharf user passwd` would write): his UI sessions end.
      await writeHtpasswd(dir, [{ name: 'bob', password: 'changed-pass-2' }]);
      const deadline = Date.now() + 10_000;
      while ((await b.call('GET', 'session')).json.user !== null) {
        assert.ok(Date.now() < deadline, 'the session outlived the password change');
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      assert.equal((await b.call('GET', 'repositories/team-a/x/tags')).status, 401);
    } finally {
      await r.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('the session cookie is Secure when the browser came over TLS (X-Forwarded-Proto from a trusted proxy setup)', async () => {
    const r = await startTestServer();
    try {
      const res = await fetch(`${r.url}/api/v1/session`, { headers: { 'X-Forwarded-Proto': 'https' } });
      assert.match(res.headers.get('set-cookie')!, /; HttpOnly; SameSite=Strict; Secure$/);
      const plain = await fetch(`${r.url}/api/v1/session`);
      assert.doesNotMatch(plain.headers.get('set-cookie')!, /Secure/);
      const session = (await plain.json()) as { admin: boolean; authRequired: boolean; canLogin: boolean };
      assert.deepEqual([session.admin, session.authRequired, session.canLogin], [true, false, false], 'auth off: everyone may do everything');
    } finally {
      await r.close();
    }
  });
});
