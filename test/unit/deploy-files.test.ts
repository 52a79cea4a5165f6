// The configurations shipped in deploy/ must stay ones Wharf accepts: a renamed or removed key makes the compose
// file, the Kubernetes ConfigMap or the example wharf.yaml fail here rather than at a user's first start.
// (deploy/Containerfile is exercised by test/interop/package.test.ts, which builds and runs an equivalent image.)
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse, parseAllDocuments } from 'yaml';
import { loadConfig } from '../../src/config/load.js';

const deploy = fileURLToPath(new URL('../../../deploy/', import.meta.url));

/** A config file, with an environment, as `wharf serve --config FILE` would load it. */
async function load(yaml: string, env: Record<string, string> = {}) {
  const dir = await mkdtemp(join(tmpdir(), 'wharf-deploy-'));
  try {
    const file = join(dir, 'wharf.yaml');
    await writeFile(file, yaml);
    return await loadConfig({ file, env });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('deploy/wharf.yaml: basic auth where every user may push, data in /data', async () => {
  const config = await load(await readFile(join(deploy, 'wharf.yaml'), 'utf8'));
  assert.equal(config.auth.mode, 'basic');
  assert.equal(config.storage.dataDir, '/data');
});

test('deploy/compose/compose.yaml: its environment over its wharf.yaml gives ACME TLS, the challenge listener on 8080', async () => {
  const compose = parse(await readFile(join(deploy, 'compose', 'compose.yaml'), 'utf8')) as {
    services: { wharf: { environment: Record<string, string>; command: string[]; volumes: string[] } };
  };
  const wharf = compose.services.wharf;
  // Compose's ${VAR:?message} and ${VAR:-default} forms, filled as a user's .env would.
  const filled = Object.fromEntries(
    Object.entries(wharf.environment).map(([k, v]) => [
      k,
      String(v).replace(/\$\{(\w+)(?::[?-][^}]*)?\}/g, (_, name: string) => ({ WHARF_DOMAIN: 'registry.example.com', ACME_EMAIL: 'ops@example.com' })[name] ?? ''),
    ]),
  );
  assert.deepEqual(wharf.command, ['serve', '--config', '/etc/wharf/wharf.yaml']);
  assert.ok(wharf.volumes.includes('./wharf.yaml:/etc/wharf/wharf.yaml:ro'));
  const config = await load(await readFile(join(deploy, 'compose', 'wharf.yaml'), 'utf8'), filled);
  assert.equal(config.tls.mode, 'acme');
  assert.deepEqual(config.tls.acme.domains, ['registry.example.com']);
  assert.equal(config.tls.http.addr, '0.0.0.0:8080');
  assert.equal(config.tls.http.httpsPort, 443);
});

test('deploy/kubernetes/wharf.yaml: the ConfigMap holds a valid config; probes and the volume match it', async () => {
  const docs = parseAllDocuments(await readFile(join(deploy, 'kubernetes', 'wharf.yaml'), 'utf8')).map((d) => d.toJS() as { kind: string } & Record<string, never>);
  assert.deepEqual(docs.map((d) => d.kind), ['ConfigMap', 'StatefulSet', 'Service']);
  const configMap = docs[0] as unknown as { data: { 'wharf.yaml': string } };
  const config = await load(configMap.data['wharf.yaml']);
  const set = docs[1] as unknown as {
    spec: { template: { spec: { containers: { readinessProbe: { httpGet: { path: string } }; livenessProbe: { httpGet: { path: string } }; volumeMounts: { mountPath: string }[] }[] } } };
  };
  const container = set.spec.template.spec.containers[0]!;
  assert.equal(container.readinessProbe.httpGet.path, '/readyz');
  assert.equal(container.livenessProbe.httpGet.path, '/healthz');
  assert.ok(container.volumeMounts.some((m) => m.mountPath === config.storage.dataDir), 'the PVC is mounted at the data directory');
  assert.equal(config.server.addr, '0.0.0.0:5000');
});
