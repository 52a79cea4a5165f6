// Real skopeo and podman pushing into a repository over its quota: the push fails with the registry's DENIED
// message naming the quota (not a broken pipe or a reset), and nothing of the refused layer stays staged.
import assert from 'node:assert/strict';
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startWharf, tempDir, type RunningRegistry } from '../support/processes.js';
import { run, runOk } from './support/exec.js';
import { buildImage } from './support/oci.js';
import { isolatedContainers, type Containers } from './support/podman.js';

const MiB = 1024 * 1024;

describe('quota refusal seen by real clients', () => {
  let reg: RunningRegistry;
  let work = '';
  let layout = '';
  let c: Containers;

  before(async () => {
    work = await tempDir('interop-quota');
    layout = join(work, 'oci');
    await buildImage(layout, 'big', [{ files: [{ path: 'big.bin', size: 6 * MiB }] }]); // random: gzip cannot shrink it
    reg = await startWharf({ configYaml: 'quotas:\n  - repositories: ["quota/**"]\n    maxBytes: 1MiB\n' });
    c = await isolatedContainers(join(work, 'containers'));
    const store = `containers-storage:[vfs@${join(c.dir, 'root')}+${join(c.dir, 'run')}]localhost/big:latest`;
    await runOk('skopeo', ['copy', '--quiet', `oci:${layout}:big`, store]);
  });
  after(async () => {
    await reg?.stop();
    await rm(work, { recursive: true, force: true });
  });

  async function nothingStaged(): Promise<void> {
    assert.deepEqual(await readdir(join(reg.dataDir, 'storage', '_uploads')).catch(() => []), []);
  }

  function namesTheQuota(stderr: string): void {
    assert.match(stderr, /denied/i);
    assert.match(stderr, /would exceed its storage quota of 1048576 bytes/);
    assert.doesNotMatch(stderr, /broken pipe|connection reset/i);
  }

  test('skopeo copy', async () => {
    const res = await run('skopeo', ['copy', '--dest-tls-verify=false', `oci:${layout}:big`, `docker://${reg.host}/quota/skopeo:v1`], { timeoutMs: 120_000 });
    process.stderr.write(`# skopeo stderr:\n${res.stderr}\n`);
    assert.notEqual(res.code, 0);
    namesTheQuota(res.stderr);
    await nothingStaged();
  });

  test('podman push', async () => {
    const res = await run(
      'podman',
      ['--root', join(c.dir, 'root'), '--runroot', join(c.dir, 'run'), '--storage-driver', 'vfs', 'push', '--tls-verify=false', 'localhost/big:latest', `docker://${reg.host}/quota/podman:v1`],
      { timeoutMs: 120_000, env: { TMPDIR: join(c.dir, 'tmp'), CONTAINERS_REGISTRIES_CONF: join(c.dir, 'registries.conf'), REGISTRY_AUTH_FILE: join(c.dir, 'auth.json') } },
    );
    process.stderr.write(`# podman stderr:\n${res.stderr}\n`);
    assert.notEqual(res.code, 0);
    namesTheQuota(res.stderr);
    await nothingStaged();
  });
});
