import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bearerChallenge, challengeScope, formatScope, parseResourceScope, parseScopes, ScopeError } from '../../../src/auth/scope.js';

test('one repository scope with several actions', () => {
  assert.deepEqual(parseResourceScope('repository:a/b:pull,push'), { type: 'repository', name: 'a/b', actions: ['pull', 'push'] });
  assert.deepEqual(parseResourceScope('repository:samalba/my-app:push'), { type: 'repository', name: 'samalba/my-app', actions: ['push'] });
});

test('the catalog scope', () => {
  assert.deepEqual(parseResourceScope('registry:catalog:*'), { type: 'registry', name: 'catalog', actions: ['*'] });
});

test('a name with a host:port prefix keeps its colon', () => {
  assert.deepEqual(parseResourceScope('repository:localhost:5000/foo/bar:pull'), { type: 'repository', name: 'localhost:5000/foo/bar', actions: ['pull'] });
});

test('the deprecated resource class is dropped; duplicate actions collapse; empty action list allowed', () => {
  assert.deepEqual(parseResourceScope('repository(plugin):a/b:pull,pull'), { type: 'repository', name: 'a/b', actions: ['pull'] });
  assert.deepEqual(parseResourceScope('repository:a/b:'), { type: 'repository', name: 'a/b', actions: [] });
});

test('several scopes: repeated parameters and space-separated lists, merged per resource', () => {
  assert.deepEqual(parseScopes(['repository:a/b:pull', 'repository:c:push registry:catalog:*', 'repository:a/b:push']), [
    { type: 'repository', name: 'a/b', actions: ['pull', 'push'] },
    { type: 'repository', name: 'c', actions: ['push'] },
    { type: 'registry', name: 'catalog', actions: ['*'] },
  ]);
  assert.deepEqual(parseScopes([]), []);
  assert.deepEqual(parseScopes(['']), [], 'an empty scope asks for nothing');
});

test('malformed scopes are refused', () => {
  for (const bad of ['repository', 'repository:a', ':a/b:pull', 'Repository:a/b:pull', 'repository:a/b:PULL', 'repository::pull', 'repository:a/b:pull;rm', 'repo sitory:a:pull', 'repository:a"b:pull']) {
    assert.throws(() => parseScopes([bad]), ScopeError, bad);
  }
});

test('challenges: scope per request kind, push asks for pull too, quoting is escaped', () => {
  assert.equal(formatScope(challengeScope({ repository: 'a/b', action: 'push' })!), 'repository:a/b:pull,push');
  assert.equal(formatScope(challengeScope({ repository: 'a/b', action: 'pull' })!), 'repository:a/b:pull');
  assert.equal(formatScope(challengeScope({ repository: 'a/b', action: 'delete' })!), 'repository:a/b:delete');
  assert.equal(formatScope(challengeScope({ repository: null, action: 'catalog' })!), 'registry:catalog:*');
  assert.equal(challengeScope({ repository: null, action: 'base' }), null);
  assert.equal(
    bearerChallenge('https://r.example/auth/token', 'wharf', challengeScope({ repository: 'a/b', action: 'pull' })),
    'Bearer realm="https://r.example/auth/token",service="wharf",scope="repository:a/b:pull"',
  );
  assert.equal(bearerChallenge('x"y', 's\\v', null, 'invalid_token'), 'Bearer realm="x\\"y",service="s\\\\v",error="invalid_token"');
});
