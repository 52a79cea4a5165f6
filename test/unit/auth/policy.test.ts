import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BasicAccessController } from '../../../src/auth/controller.js';
import { CredentialVerifier, StaticUserStore } from '../../../src/auth/credentials.js';
import { TrustedProxies } from '../../../src/auth/client-address.js';
import { LoginGuard, MemoryLockoutStore } from '../../../src/auth/lockout.js';
import { Authenticator } from '../../../src/auth/login.js';
import { Policy } from '../../../src/auth/policy.js';
import type { AccessRequest } from '../../../src/auth/types.js';
import { RegistryError } from '../../../src/api/errors.js';
import { authConfig, basic, fakeRequest, htpasswdText, passwords, silentLog } from './support.js';

// reader: alice (pull on team-a/**); writer: bob (pull+push on team-a/**, via group team-a); deleter: dave (group
// ops: pull, push, delete everywhere under team-a); admin: root; anonymous: pull on public/**.
const config = authConfig({
  mode: 'basic',
  htpasswd: { path: '/unused' },
  groups: [
    { name: 'team-a', members: ['bob', 'carol'] },
    { name: 'ops', members: ['dave'] },
    { name: 'wheel', members: ['eve'] },
  ],
  anonymous: [{ repositories: ['public/**'], actions: ['pull'] }],
  rules: [
    { users: ['alice'], repositories: ['team-a/**'], actions: ['pull'] },
    { groups: ['team-a'], repositories: ['team-a/**'], actions: ['pull', 'push'] },
    { groups: ['ops'], repositories: ['team-a/**'], actions: ['pull', 'push', 'delete'] },
    { users: ['alice'], repositories: ['library/*'], actions: ['pull'] },
    { users: ['*'], repositories: ['scratch/*'], actions: ['pull', 'push'] },
    { users: ['carol'], repositories: ['drop/*'], actions: ['push'] },
  ],
  admins: ['root'],
  adminGroups: ['wheel'],
});

const policy = new Policy(config);

test('glob semantics: ** any depth, * one segment', () => {
  const p = new Policy(
    authConfig({
      rules: [
        { users: ['u'], repositories: ['team-a/**'], actions: ['pull'] },
        { users: ['u'], repositories: ['library/*'], actions: ['push'] },
        { users: ['u'], repositories: ['*'], actions: ['delete'] },
      ],
    }),
  );
  for (const r of ['team-a/x', 'team-a/x/y', 'team-a/x/y/z', 'team-a']) assert.equal(p.allows('u', r, 'pull'), true, r);
  for (const r of ['team-ab/x', 'team', 'other/team-a/x']) assert.equal(p.allows('u', r, 'pull'), false, r);
  assert.equal(p.allows('u', 'library/alpine', 'push'), true);
  assert.equal(p.allows('u', 'library/alpine/extra', 'push'), false);
  assert.equal(p.allows('u', 'library', 'push'), false);
  assert.equal(p.allows('u', 'alpine', 'delete'), true);
  assert.equal(p.allows('u', 'library/alpine', 'delete'), false);
  const everything = new Policy(authConfig({ rules: [{ users: ['u'], repositories: ['**'], actions: ['pull'] }] }));
  for (const r of ['a', 'a/b', 'a/b/c/d']) assert.equal(everything.allows('u', r, 'pull'), true, r);
  assert.equal(everything.allows('someone-else', 'a', 'pull'), false);
});

test('groups, users: [*], admins and admin groups', () => {
  assert.deepEqual(policy.groups('bob'), ['team-a']);
  assert.deepEqual(policy.principal('eve'), { name: 'eve', groups: ['wheel'], admin: true });
  assert.deepEqual(policy.principal(null), { name: null, groups: [], admin: false });
  assert.equal(policy.isAdmin('root'), true);
  assert.equal(policy.isAdmin('alice'), false);
  assert.deepEqual(policy.actions('nobody-in-config', 'scratch/x'), ['pull', 'push'], 'users: [*] is every logged-in user');
  assert.deepEqual(policy.actions(null, 'scratch/x'), [], 'but not anonymous');
  assert.deepEqual(policy.actions('carol', 'drop/box'), ['push'], 'push implies nothing else');
  assert.deepEqual(policy.actions('bob', 'public/x'), ['pull'], 'anonymous grants apply to users too');
  assert.deepEqual(policy.actions('root', 'anything/at/all'), ['pull', 'push', 'delete']);
});

test('catalog: admins and logged-in users may ask (the listing is filtered); anonymous only if it may pull something', () => {
  assert.equal(policy.mayListCatalog('alice'), true);
  assert.equal(policy.mayListCatalog(null), true);
  assert.equal(new Policy(authConfig({})).mayListCatalog(null), false);
  const repos = ['public/a', 'team-a/app', 'team-b/app', 'library/alpine', 'scratch/tmp'];
  assert.deepEqual(
    repos.filter((r) => policy.allows('alice', r, 'pull')),
    ['public/a', 'team-a/app', 'library/alpine', 'scratch/tmp'],
  );
  assert.deepEqual(
    repos.filter((r) => policy.allows(null, r, 'pull')),
    ['public/a'],
  );
});

function controller(): BasicAccessController {
  const store = new StaticUserStore(htpasswdText('alice', 'bob', 'carol', 'dave', 'root', 'eve'));
  const verifier = new CredentialVerifier(store, { ttl: 60_000 });
  const guard = new LoginGuard(new MemoryLockoutStore({ maxFailures: 1000, maxAddressFailures: 1000, window: 60_000, duration: 60_000, maxTracked: 100 }), silentLog);
  return new BasicAccessController(new Authenticator(verifier, guard, policy, new TrustedProxies([])), policy, 'Wharf test');
}

type Outcome = 'ok' | 401 | 403;

async function outcome(c: BasicAccessController, who: keyof typeof passwords | null, access: AccessRequest): Promise<Outcome> {
  try {
    const p = await c.authorize(fakeRequest(who === null ? {} : basic(who, passwords[who])), access);
    assert.equal(p.name, who);
    return 'ok';
  } catch (err) {
    assert.ok(err instanceof RegistryError);
    if (err.status === 401) {
      assert.equal(err.code, 'UNAUTHORIZED');
      assert.equal(err.headers['WWW-Authenticate'], 'Basic realm="Wharf test"');
    } else {
      assert.equal(err.code, 'DENIED');
    }
    return err.status as 401 | 403;
  }
}

test('policy matrix through the Basic controller: anonymous, reader, writer, deleter, admin', async () => {
  const c = controller();
  const allowed = 'team-a/app';
  const forbidden = 'team-b/app';
  const pub = 'public/base';
  // who → [pull, push, delete] on team-a/app, on team-b/app, on public/base, then catalog and base
  type Row = { repos: Record<string, [Outcome, Outcome, Outcome]>; catalog: Outcome; base: Outcome };
  const matrix: Record<string, Row> = {
    anonymous: { repos: { [allowed]: [401, 401, 401], [forbidden]: [401, 401, 401], [pub]: ['ok', 401, 401] }, catalog: 'ok', base: 401 },
    alice: { repos: { [allowed]: ['ok', 403, 403], [forbidden]: [403, 403, 403], [pub]: ['ok', 403, 403] }, catalog: 'ok', base: 'ok' },
    bob: { repos: { [allowed]: ['ok', 'ok', 403], [forbidden]: [403, 403, 403], [pub]: ['ok', 403, 403] }, catalog: 'ok', base: 'ok' },
    dave: { repos: { [allowed]: ['ok', 'ok', 'ok'], [forbidden]: [403, 403, 403], [pub]: ['ok', 403, 403] }, catalog: 'ok', base: 'ok' },
    root: { repos: { [allowed]: ['ok', 'ok', 'ok'], [forbidden]: ['ok', 'ok', 'ok'], [pub]: ['ok', 'ok', 'ok'] }, catalog: 'ok', base: 'ok' },
  };
  for (const [label, row] of Object.entries(matrix)) {
    const who = label === 'anonymous' ? null : (label as keyof typeof passwords);
    for (const repo of [allowed, forbidden, pub]) {
      const got = [];
      for (const action of ['pull', 'push', 'delete'] as const) got.push(await outcome(c, who, { repository: repo, action }));
      assert.deepEqual(got, row.repos[repo], `${label} on ${repo}`);
    }
    assert.equal(await outcome(c, who, { repository: null, action: 'catalog' }), row.catalog, `${label} catalog`);
    assert.equal(await outcome(c, who, { repository: null, action: 'base' }), row.base, `${label} base`);
  }
});

test('allowed() answers for catalog filtering and mount sources', async () => {
  const c = controller();
  const alice = await c.authorize(fakeRequest(basic('alice', passwords.alice)), { repository: null, action: 'catalog' });
  assert.equal(c.allowed(alice, 'team-a/app', 'pull'), true);
  assert.equal(c.allowed(alice, 'team-b/app', 'pull'), false);
  assert.equal(c.allowed(alice, 'team-a/app', 'push'), false);
  const root = await c.authorize(fakeRequest(basic('root', passwords.root)), { repository: null, action: 'catalog' });
  assert.equal(root.admin, true);
  assert.equal(c.allowed(root, 'team-b/app', 'delete'), true);
  assert.equal(c.allowed({ name: null }, 'public/x', 'pull'), true);
  assert.equal(c.allowed({ name: null }, 'team-a/app', 'pull'), false);
});

test('wrong or malformed credentials are 401 with the Basic challenge, even for repositories anonymous may pull', async () => {
  const c = controller();
  for (const headers of [basic('alice', 'nope'), basic('ghost', 'x'), { authorization: 'Basic !!!' }, { authorization: 'Basic Zm9v' }]) {
    await assert.rejects(c.authorize(fakeRequest(headers), { repository: 'public/base', action: 'pull' }), (err: unknown) => {
      return err instanceof RegistryError && err.status === 401 && err.headers['WWW-Authenticate'] === 'Basic realm="Wharf test"';
    });
  }
  // Basic with an empty user (skopeo --no-creds sends `Basic Og==`) is anonymous, as is a Bearer header in basic mode.
  for (const authorization of ['Basic Og==', `Basic ${Buffer.from(':x').toString('base64')}`]) {
    assert.equal((await c.authorize(fakeRequest({ authorization }), { repository: 'public/base', action: 'pull' })).name, null);
    await assert.rejects(c.authorize(fakeRequest({ authorization }), { repository: 'team-a/app', action: 'pull' }), (e: unknown) => e instanceof RegistryError && e.status === 401);
  }
  const p = await c.authorize(fakeRequest({ authorization: 'Bearer abc.def.ghi' }), { repository: 'public/base', action: 'pull' });
  assert.equal(p.name, null);
});
