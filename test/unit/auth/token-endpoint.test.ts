import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { decodeJwt } from 'jose';
import { createAccessController, type AuthService } from '../../../src/auth/controller.js';
import type { AuthConfigInput } from '../../../src/auth/config.js';
import { RegistryError } from '../../../src/api/errors.js';
import { authConfig, bearer, captureLog, fakeRequest, hashes, htpasswdText, manualClock, passwords, silentLog, withTempDir, type CapturedLog } from './support.js';

const policy: Partial<AuthConfigInput> = {
  groups: [{ name: 'team-a', members: ['bob'] }],
  anonymous: [{ repositories: ['public/**'], actions: ['pull'] }],
  rules: [
    { users: ['alice'], repositories: ['team-a/**'], actions: ['pull'] },
    { groups: ['team-a'], repositories: ['team-a/**'], actions: ['pull', 'push'] },
  ],
  admins: ['root'],
};

interface Harness {
  readonly url: string;
  readonly service: AuthService;
  readonly dir: string;
  readonly captured: CapturedLog;
  readonly clock: ReturnType<typeof manualClock>;
}

async function withTokenServer(fn: (h: Harness) => Promise<void>, extra: Partial<AuthConfigInput> = {}): Promise<void> {
  await withTempDir(async (dir) => {
    const path = join(dir, 'htpasswd');
    await writeFile(path, htpasswdText('alice', 'bob', 'root'));
    const clock = manualClock(Date.now());
    const captured = captureLog('debug');
    const service = await createAccessController(
      authConfig({
        mode: 'token',
        htpasswd: { path },
        token: { realm: 'https://registry.test/auth/token', service: 'registry.test', issuer: 'wharf-test' },
        ...policy,
        ...extra,
      }),
      { log: captured.log, dataDir: dir, now: clock.now, htpasswdPollInterval: 0 },
    );
    assert.ok(service.tokenHandler);
    const handler = service.tokenHandler;
    const server: Server = createServer((req, res) => void handler(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/auth/token`;
    try {
      await fn({ url, service, dir, captured, clock });
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await service.close();
    }
  });
}

interface TokenBody {
  token: string;
  access_token: string;
  expires_in: number;
  issued_at: string;
  refresh_token?: string;
  scope?: string;
}

function basicHeader(user: string, password: string): Record<string, string> {
  return { Authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` };
}

async function getToken(url: string, query: string, headers: Record<string, string> = {}): Promise<{ status: number; body: TokenBody; headers: Headers }> {
  const res = await fetch(`${url}?${query}`, { headers });
  return { status: res.status, body: (await res.json()) as TokenBody, headers: res.headers };
}

function accessOf(token: string): unknown {
  return decodeJwt(token).access;
}

test('anonymous GET: a token with only what anonymous may do', async () => {
  await withTokenServer(async ({ url }) => {
    const { status, body, headers } = await getToken(url, 'service=registry.test&scope=repository:public/base:pull,push&scope=repository:team-a/app:pull');
    assert.equal(status, 200);
    assert.equal(headers.get('cache-control'), 'no-store');
    assert.equal(body.token, body.access_token);
    assert.equal(body.expires_in, 300);
    assert.match(body.issued_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.equal(body.refresh_token, undefined);
    assert.deepEqual(accessOf(body.token), [{ type: 'repository', name: 'public/base', actions: ['pull'] }]);
    assert.equal(decodeJwt(body.token).sub, '');
    assert.equal(decodeJwt(body.token).aud, 'registry.test');
  });
});

test('Basic GET: the intersection of requested and granted, per repository, several scopes', async () => {
  await withTokenServer(async ({ url }) => {
    const bob = await getToken(url, 'service=registry.test&scope=repository:team-a/app:pull,push,delete&scope=repository:team-b/app:pull&account=bob', basicHeader('bob', passwords.bob));
    assert.equal(bob.status, 200);
    assert.deepEqual(accessOf(bob.body.token), [{ type: 'repository', name: 'team-a/app', actions: ['pull', 'push'] }]);
    assert.equal(decodeJwt(bob.body.token).sub, 'bob');
    const alice = await getToken(url, 'scope=repository:team-a/app:pull,push%20registry:catalog:*', basicHeader('alice', passwords.alice));
    assert.deepEqual(accessOf(alice.body.token), [
      { type: 'repository', name: 'team-a/app', actions: ['pull'] },
      { type: 'registry', name: 'catalog', actions: ['*'] },
    ]);
    const root = await getToken(url, 'scope=repository:x/y:*', basicHeader('root', passwords.root));
    assert.deepEqual(accessOf(root.body.token), [{ type: 'repository', name: 'x/y', actions: ['pull', 'push', 'delete'] }]);
    const login = await getToken(url, 'service=registry.test&offline_token=true&client_id=docker', basicHeader('alice', passwords.alice));
    assert.equal(login.status, 200, 'docker login asks with no scope');
    assert.deepEqual(accessOf(login.body.token), []);
  });
});

test('GET errors: wrong password 401 with a Basic challenge, malformed scope 400, other service 400, account mismatch 400', async () => {
  await withTokenServer(async ({ url }) => {
    const wrong = await fetch(`${url}?scope=repository:team-a/app:pull`, { headers: basicHeader('alice', 'nope') });
    assert.equal(wrong.status, 401);
    assert.equal(wrong.headers.get('www-authenticate'), 'Basic realm="Wharf registry"');
    const body = (await wrong.json()) as { errors: { code: string }[]; error: string };
    assert.equal(body.errors[0]!.code, 'UNAUTHORIZED');
    assert.equal(body.error, 'invalid_grant');
    assert.equal((await getToken(url, 'scope=repository:team-a')).status, 400);
    assert.equal((await getToken(url, 'service=other&scope=repository:public/a:pull')).status, 400);
    assert.equal((await getToken(url, 'account=root', basicHeader('alice', passwords.alice))).status, 400);
    assert.equal((await fetch(url, { method: 'PUT' })).status, 405);
  });
});

test('the token endpoint locks out too: 429 with Retry-After, logged without the password', async () => {
  await withTokenServer(
    async ({ url, captured }) => {
      for (let i = 0; i < 3; i++) assert.equal((await getToken(url, '', basicHeader('alice', `guess${i}`))).status, 401);
      const locked = await fetch(url, { headers: basicHeader('alice', passwords.alice) });
      assert.equal(locked.status, 429);
      assert.equal(locked.headers.get('retry-after'), '900');
      const text = captured.text();
      assert.ok(text.includes('"event":"auth.lockout"') && text.includes('"user":"alice"') && text.includes('"remoteAddr":"127.0.0.1"'));
      assert.ok(!text.includes('guess') && !text.includes(passwords.alice));
    },
    { lockout: { maxFailures: 3 } },
  );
});

async function postForm(url: string, form: Record<string, string>): Promise<{ status: number; body: TokenBody }> {
  const res = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(form).toString() });
  return { status: res.status, body: (await res.json()) as TokenBody };
}

test('OAuth2 password grant with access_type=offline gives a refresh token; the refresh grant uses it', async () => {
  await withTokenServer(async ({ url, service }) => {
    const first = await postForm(url, {
      grant_type: 'password',
      username: 'bob',
      password: passwords.bob,
      service: 'registry.test',
      client_id: 'docker',
      access_type: 'offline',
      scope: 'repository:team-a/app:pull,push',
    });
    assert.equal(first.status, 200);
    assert.ok(first.body.refresh_token);
    assert.equal(first.body.scope, 'repository:team-a/app:pull,push');
    assert.deepEqual(accessOf(first.body.access_token), [{ type: 'repository', name: 'team-a/app', actions: ['pull', 'push'] }]);
    const online = await postForm(url, { grant_type: 'password', username: 'bob', password: passwords.bob, service: 'registry.test' });
    assert.equal(online.body.refresh_token, undefined, 'no refresh token unless offline access is asked for');

    const refreshed = await postForm(url, { grant_type: 'refresh_token', refresh_token: first.body.refresh_token!, service: 'registry.test', scope: 'repository:team-a/other:push' });
    assert.equal(refreshed.status, 200);
    assert.equal(refreshed.body.refresh_token, first.body.refresh_token, 'the same refresh token comes back');
    assert.equal(decodeJwt(refreshed.body.token).sub, 'bob');
    assert.deepEqual(accessOf(refreshed.body.token), [{ type: 'repository', name: 'team-a/other', actions: ['push'] }]);
    // The refresh token is no access token for the registry.
    await assert.rejects(service.access.authorize(fakeRequest(bearer(first.body.refresh_token!)), { repository: null, action: 'base' }), (e: unknown) => e instanceof RegistryError && e.status === 401);

    assert.equal((await postForm(url, { grant_type: 'refresh_token', refresh_token: 'garbage', service: 'registry.test' })).status, 401);
    assert.equal((await postForm(url, { grant_type: 'refresh_token', refresh_token: first.body.refresh_token!, service: 'other' })).status, 400);
    assert.equal((await postForm(url, { grant_type: 'password', username: 'bob', password: 'wrong' })).status, 401);
    assert.equal((await postForm(url, { grant_type: 'authorization_code', code: 'x' })).status, 400);
    const notForm = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' });
    assert.equal(notForm.status, 400);
  });
});

test('a password change revokes refresh tokens', async () => {
  await withTokenServer(async ({ url, dir, service }) => {
    const first = await postForm(url, { grant_type: 'password', username: 'alice', password: passwords.alice, access_type: 'offline' });
    assert.equal(first.status, 200);
    const before = service.users!.version;
    await writeFile(join(dir, 'htpasswd'), `alice:${hashes.bob}\nbob:${hashes.bob}\n`);
    assert.equal(await service.users!.check(), true);
    assert.notEqual(service.users!.version, before);
    const refreshed = await postForm(url, { grant_type: 'refresh_token', refresh_token: first.body.refresh_token! });
    assert.equal(refreshed.status, 401);
  });
});

test('registry side: challenges, verified tokens, insufficient scope, catalog scope, allowed()', async () => {
  await withTokenServer(async ({ url, service, clock }) => {
    const access = service.access;
    const pushReq = { repository: 'team-a/app', action: 'push' } as const;
    await assert.rejects(access.authorize(fakeRequest(), pushReq), (e: unknown) => {
      assert.ok(e instanceof RegistryError);
      assert.equal(e.status, 401);
      assert.equal(e.code, 'UNAUTHORIZED');
      assert.equal(e.headers['WWW-Authenticate'], 'Bearer realm="https://registry.test/auth/token",service="registry.test",scope="repository:team-a/app:pull,push"');
      return true;
    });
    await assert.rejects(access.authorize(fakeRequest(), { repository: null, action: 'base' }), (e: unknown) => {
      return e instanceof RegistryError && e.headers['WWW-Authenticate'] === 'Bearer realm="https://registry.test/auth/token",service="registry.test"';
    });

    const bob = (await getToken(url, 'scope=repository:team-a/app:pull,push', basicHeader('bob', passwords.bob))).body.token;
    const principal = await access.authorize(fakeRequest(bearer(bob)), pushReq);
    assert.deepEqual(principal, { name: 'bob', groups: ['team-a'], admin: false });
    assert.equal((await access.authorize(fakeRequest(bearer(bob)), { repository: null, action: 'base' })).name, 'bob');

    // The policy gives bob no delete: no token could allow it, so 403 rather than a challenge.
    await assert.rejects(access.authorize(fakeRequest(bearer(bob)), { repository: 'team-a/app', action: 'delete' }), (e: unknown) => {
      assert.ok(e instanceof RegistryError);
      assert.equal(e.status, 403);
      assert.equal(e.code, 'DENIED');
      assert.equal(e.headers['WWW-Authenticate'], undefined);
      return true;
    });
    await assert.rejects(access.authorize(fakeRequest(bearer(bob)), { repository: null, action: 'catalog' }), (e: unknown) => {
      return e instanceof RegistryError && /scope="registry:catalog:\*",error="insufficient_scope"/.test(e.headers['WWW-Authenticate']!);
    });
    await assert.rejects(access.authorize(fakeRequest(bearer(`${bob}x`)), pushReq), (e: unknown) => {
      return e instanceof RegistryError && e.status === 401 && /error="invalid_token"$/.test(e.headers['WWW-Authenticate']!);
    });

    // Catalog: any logged-in user gets the scope; the listing is filtered with allowed().
    const catalog = (await getToken(url, 'scope=registry:catalog:*', basicHeader('alice', passwords.alice))).body.token;
    const alice = await access.authorize(fakeRequest(bearer(catalog)), { repository: null, action: 'catalog' });
    assert.equal(alice.admin, false);
    assert.deepEqual(
      ['public/a', 'team-a/app', 'team-b/app'].filter((r) => access.allowed(alice, r, 'pull')),
      ['public/a', 'team-a/app'],
    );
    const root = (await getToken(url, 'scope=registry:catalog:*', basicHeader('root', passwords.root))).body.token;
    assert.equal((await access.authorize(fakeRequest(bearer(root)), { repository: null, action: 'catalog' })).admin, true);

    // A mount source the token grants pull on is allowed() even where the policy is silent (external tokens).
    assert.equal(access.allowed(principal, 'team-a/app', 'push'), true);
    assert.equal(access.allowed(principal, 'team-b/app', 'pull'), false);

    clock.advance(10 * 60_000);
    await assert.rejects(access.authorize(fakeRequest(bearer(bob)), pushReq), (e: unknown) => e instanceof RegistryError && /invalid_token/.test(e.headers['WWW-Authenticate']!));
  });
});

test('anonymous tokens that lack a scope get UNAUTHORIZED, not DENIED', async () => {
  await withTokenServer(async ({ url, service }) => {
    const anon = (await getToken(url, 'scope=repository:team-a/app:pull')).body.token;
    await assert.rejects(service.access.authorize(fakeRequest(bearer(anon)), { repository: 'team-a/app', action: 'pull' }), (e: unknown) => {
      return e instanceof RegistryError && e.status === 401 && e.code === 'UNAUTHORIZED';
    });
    const pub = (await getToken(url, 'scope=repository:public/base:pull')).body.token;
    assert.equal((await service.access.authorize(fakeRequest(bearer(pub)), { repository: 'public/base', action: 'pull' })).name, null);
  });
});

test('mode none is the open registry', async () => {
  const open = await createAccessController(authConfig({}), { log: silentLog, dataDir: '/nonexistent' });
  assert.equal((await open.access.authorize(fakeRequest(), { repository: 'a', action: 'delete' })).name, null);
  assert.equal(open.access.allowed({ name: null }, 'a', 'delete'), true);
  assert.equal(open.tokenHandler, undefined);
  await open.close();
});
