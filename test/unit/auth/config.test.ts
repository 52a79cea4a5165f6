import assert from 'node:assert/strict';
import { test } from 'node:test';
import { authConfigSchema } from '../../../src/auth/config.js';
import { configLeaves, envName } from '../../../src/config/introspect.js';

function problems(input: unknown): string[] {
  const result = authConfigSchema.safeParse(input);
  return result.success ? [] : result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
}

test('defaults: auth off, and the documented values', () => {
  const c = authConfigSchema.parse(undefined);
  assert.equal(c.mode, 'none');
  assert.equal(c.htpasswd.cacheTtl, 60_000);
  assert.equal(c.token.ttl, 5 * 60_000);
  assert.equal(c.token.service, 'wharf');
  assert.equal(c.token.issuer, 'wharf');
  assert.deepEqual(c.lockout, { maxFailures: 10, maxAddressFailures: 50, window: 5 * 60_000, duration: 15 * 60_000, trustedProxies: [], maxTracked: 10_000 });
  assert.deepEqual(c.verification, { maxConcurrent: 2, maxQueued: 32 });
  assert.deepEqual([c.groups, c.anonymous, c.rules, c.admins], [[], [], [], []]);
});

test('the example of the documentation parses', () => {
  const c = authConfigSchema.parse({
    mode: 'token',
    htpasswd: { path: '/etc/wharf/htpasswd', cacheTtl: '30s' },
    token: { realm: 'https://registry.example.com/auth/token', service: 'registry.example.com', ttl: '10m' },
    groups: [{ name: 'team-a', members: ['alice', 'bob'] }],
    anonymous: [{ repositories: ['public/**'], actions: ['pull'] }],
    rules: [{ users: ['carol'], groups: ['team-a'], repositories: ['team-a/**'], actions: ['pull', 'push', 'delete'] }],
    admins: ['root'],
    lockout: { maxFailures: 5, window: '1m', duration: '1h' },
  });
  assert.equal(c.token.ttl, 600_000);
  assert.equal(c.lockout.duration, 3_600_000);
  assert.deepEqual(c.rules[0]!.users, ['carol']);
});

test('every misconfiguration is reported with its path', () => {
  assert.deepEqual(problems({ mode: 'basic' }), ['htpasswd.path: basic mode needs an htpasswd file to log users in']);
  assert.deepEqual(problems({ mode: 'token', htpasswd: { path: '/h' } }), ['token.realm: token mode needs the URL of the token endpoint']);
  assert.deepEqual(problems({ mode: 'token', token: { realm: 'https://r/t', issue: false } }), ['token.external: with token.issue false, configure the external token issuer to trust']);
  assert.deepEqual(problems({ mode: 'token', token: { realm: 'https://r/t', issue: false, external: { issuer: 'x', jwksUrl: 'https://x/jwks', certificate: '/c' } } }), [
    'token.external: give exactly one of jwksUrl and certificate',
  ]);
  assert.deepEqual(problems({ mode: 'token', htpasswd: { path: '/h' }, token: { realm: 'https://r/t', external: { issuer: 'wharf', certificate: '/c' } } }), [
    'token.external.issuer: must differ from auth.token.issuer (Wharf’s own tokens)',
  ]);
  assert.deepEqual(problems({ rules: [{ repositories: ['**'], actions: ['pull'] }] }), ["rules.0: a rule names at least one user or group (use users: ['*'] for every logged-in user)"]);
  assert.deepEqual(problems({ rules: [{ groups: ['nope'], repositories: ['**'], actions: ['pull'] }], adminGroups: ['ghosts'] }), [
    'rules.0.groups: unknown group "nope" (define it under auth.groups)',
    'adminGroups: unknown group "ghosts" (define it under auth.groups)',
  ]);
  assert.equal(problems({ anonymous: [{ repositories: ['**'], actions: ['write'] }] }).length, 1);
  assert.equal(problems({ token: { ttl: '30s' } }).length, 1, 'tokens live at least 60 s');
  assert.equal(problems({ token: { realm: 'not a url' } }).length, 1);
  assert.equal(problems({ admins: ['has:colon'] }).length, 1);
  assert.equal(problems({ surprise: true }).length, 1, 'unknown keys are refused');
  assert.deepEqual(problems({ lockout: { trustForwardedFor: true } }), [
    'lockout.trustForwardedFor: was replaced by auth.lockout.trustedProxies: list the addresses or CIDRs of your reverse proxies there (e.g. [127.0.0.1])',
  ]);
  assert.deepEqual(problems({ lockout: { trustForwardedFor: false, trustedProxies: ['10.0.0.0/8', '127.0.0.1', 'fd00::/8'] } }), [], 'false is what no trust always meant');
  assert.equal(problems({ lockout: { trustedProxies: ['10.0.0.0/40'] } }).length, 1);
  assert.equal(problems({ lockout: { trustedProxies: ['proxy.local'] } }).length, 1, 'host names are not addresses');
});

test('every key is described, so the README reference is complete; environment names follow the paths', () => {
  const leaves = configLeaves(authConfigSchema, ['auth']);
  assert.ok(leaves.length >= 20);
  for (const leaf of leaves) assert.ok(leaf.description.length > 10, `${leaf.path.join('.')} has a description`);
  assert.ok(leaves.some((l) => envName(l.path) === 'WHARF_AUTH__HTPASSWD__CACHE_TTL' && l.type === 'duration'));
  assert.ok(leaves.some((l) => envName(l.path) === 'WHARF_AUTH__LOCKOUT__MAX_FAILURES' && l.fallback === 10));
});

test('the section has a description for the README heading', () => {
  assert.match(authConfigSchema.description ?? '', /Authentication/);
});

test('descriptions hold no bare pipe, which would split the README table', () => {
  for (const leaf of configLeaves(authConfigSchema, ['auth'])) assert.ok(!leaf.description.includes('|'), leaf.path.join('.'));
});
