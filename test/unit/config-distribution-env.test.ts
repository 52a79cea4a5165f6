// Distribution's REGISTRY_* variable names, and Wharf's own WHARF_* names, as properties over generated names.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { applyRegistryEnv, registryEnvPath } from '../../src/config/distribution/env.js';
import { configLeaves, envName } from '../../src/config/introspect.js';
import { unknownWharfVariables } from '../../src/config/wharf-env.js';

const segment = fc.stringMatching(/^[a-z0-9][a-z0-9-]{0,11}$/);
// Leaving out the names with special forms, tested on their own below: Kubernetes' service links, sections whose
// variables follow Go field names, and the sections that take a driver name as their value.
const special = ['port', 'service', 'health', 'notifications', 'storage', 'auth'];
const path = fc.array(segment, { minLength: 1, maxLength: 5 }).filter((p) => !special.includes(p[0]!));
const nameOf = (p: readonly string[]) => `REGISTRY_${p.map((s) => s.toUpperCase()).join('_')}`;

test('a REGISTRY_ name is the config.yml path, one underscore between keys, keys in lower case', () => {
  fc.assert(fc.property(path, (p) => assert.deepEqual(registryEnvPath(nameOf(p)), p)));
  assert.deepEqual(registryEnvPath('REGISTRY_HTTP_HEADERS_Access-Control-Allow-Origin'), ['http', 'headers', 'access-control-allow-origin']);
  assert.deepEqual(registryEnvPath('REGISTRY_HEALTH_FILECHECKERS_0_FILE'), ['health', 'file', '0', 'file']);
  assert.deepEqual(registryEnvPath('REGISTRY_NOTIFICATIONS_EVENTCONFIG_INCLUDEREFERENCES'), ['notifications', 'events', 'includereferences']);
});

test('any other name is not configuration, and no name makes the parser throw', () => {
  fc.assert(
    fc.property(fc.string(), (name) => {
      const parsed = registryEnvPath(name);
      if (!name.startsWith('REGISTRY_')) assert.equal(parsed, null);
      if (parsed) assert.ok(parsed.every((s) => s.length > 0 && !s.includes('_')));
    }),
  );
  // Kubernetes injects these for a Service named "registry"; Distribution ignores them too.
  for (const name of ['REGISTRY_PORT', 'REGISTRY_SERVICE_HOST', 'REGISTRY_SERVICE_PORT', 'REGISTRY_SERVICE_PORT_HTTP', 'REGISTRY_PORT_5000_TCP', 'REGISTRY_PORT_5000_TCP_ADDR', 'REGISTRY_PORT_5000_TCP_PROTO']) {
    assert.equal(registryEnvPath(name), null, name);
  }
  for (const name of ['REGISTRY_', 'REGISTRY__HTTP', 'REGISTRY_HTTP_']) assert.equal(registryEnvPath(name), null, name);
  // podman's and skopeo's credentials file, often exported in the shell that starts Wharf.
  assert.equal(registryEnvPath('REGISTRY_AUTH_FILE'), null);
});

test('a variable sets its path to its value read as YAML, whatever order the environment lists them in', () => {
  const scalar = fc.oneof(fc.boolean(), fc.integer({ min: 0, max: 1e9 }), fc.stringMatching(/^[a-z][a-z0-9./-]{0,20}(:[0-9]{1,5})?$/));
  fc.assert(
    fc.property(fc.uniqueArray(fc.tuple(path, scalar), { minLength: 1, maxLength: 6, selector: ([p]) => p[0] }), fc.boolean(), (entries, reverse) => {
      const list = entries.map(([p, v]) => [nameOf(p), String(v)] as const);
      const env = Object.fromEntries(reverse ? list.reverse() : list);
      const tree: Record<string, unknown> = {};
      const { errors } = applyRegistryEnv(tree, env);
      assert.deepEqual(errors, []);
      for (const [p, v] of entries) {
        const got = p.reduce<unknown>((node, key) => (node as Record<string, unknown>)[key], tree);
        assert.equal(got, v);
      }
    }),
  );
});

test('REGISTRY_STORAGE=s3 replaces the storage section before REGISTRY_STORAGE_S3_* fill it, as in Distribution', () => {
  const tree: Record<string, unknown> = { storage: { filesystem: { rootdirectory: '/var/lib/registry' } } };
  applyRegistryEnv(tree, { REGISTRY_STORAGE_S3_BUCKET: 'images', REGISTRY_STORAGE: 's3', REGISTRY_STORAGE_DELETE_ENABLED: 'true' });
  assert.deepEqual(tree.storage, { s3: { bucket: 'images' }, delete: { enabled: true } });
});

test('list values and list indexes', () => {
  const tree: Record<string, unknown> = {};
  const { errors } = applyRegistryEnv(tree, {
    'REGISTRY_HTTP_HEADERS_Access-Control-Allow-Origin': "['http://ui.example.com', 'https://b.example.com']",
    REGISTRY_NOTIFICATIONS_ENDPOINTS_0_NAME: 'ntfy',
    REGISTRY_NOTIFICATIONS_ENDPOINTS_0_URL: 'https://ntfy.example.com/registry',
    REGISTRY_NOTIFICATIONS_ENDPOINTS_2_URL: 'https://skipped.example.com',
  });
  assert.deepEqual(tree.http, { headers: { 'access-control-allow-origin': ['http://ui.example.com', 'https://b.example.com'] } });
  assert.deepEqual(tree.notifications, { endpoints: [{ name: 'ntfy', url: 'https://ntfy.example.com/registry' }] });
  assert.equal(errors.length, 1);
  assert.match(errors[0]!, /REGISTRY_NOTIFICATIONS_ENDPOINTS_2_URL: notifications.endpoints is a list: expected an index from 0 to 1/);
  const bad = applyRegistryEnv({}, { REGISTRY_HTTP_ADDR: '[unclosed' });
  assert.match(bad.errors[0]!, /REGISTRY_HTTP_ADDR: .*not valid YAML/);
});

test('every WHARF_ variable of a key is accepted; one underscore short is an error naming the right one', () => {
  const names = configLeaves().map((leaf) => envName(leaf.path));
  assert.deepEqual(unknownWharfVariables(Object.fromEntries(names.map((n) => [n, 'x']))), []);
  const withSeparator = names.filter((n) => n.includes('__'));
  fc.assert(
    fc.property(fc.constantFrom(...withSeparator), fc.nat(), (name, pick) => {
      const at = [...name.matchAll(/__/g)].map((m) => m.index!);
      const i = at[pick % at.length]!;
      const typo = `${name.slice(0, i)}_${name.slice(i + 2)}`;
      if (names.includes(typo)) return;
      const [problem] = unknownWharfVariables({ [typo]: 'x' });
      assert.ok(problem?.startsWith(`${typo}: no such configuration variable (did you mean ${name}?)`), problem);
    }),
  );
  assert.match(unknownWharfVariables({ WHARF_AUTH_MODE: 'basic' })[0]!, /did you mean WHARF_AUTH__MODE\?/);
  assert.match(unknownWharfVariables({ WHARF_SERVERR__ADDR: 'x' })[0]!, /did you mean WHARF_SERVER__ADDR\?/);
  // Not configuration: the CLI's own variables, test knobs, Kubernetes service links for a Service named "wharf".
  assert.deepEqual(unknownWharfVariables({ WHARF_URL: 'x', WHARF_ADMIN_PASSWORD: 'x', WHARF_FUZZ_RUNS: '5', WHARF_SERVICE_HOST: 'x', WHARF_PORT: 'x', PATH: '/bin' }), []);
});
