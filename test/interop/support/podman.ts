// podman and buildah with all of their state (storage, run dir, tmp, auth, registries.conf) in one temp dir.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runOk, runText, type RunResult } from './exec.js';

export interface Containers {
  readonly dir: string;
  podman(args: string[]): Promise<RunResult>;
  podmanText(args: string[]): Promise<string>;
  buildah(args: string[]): Promise<RunResult>;
  buildahText(args: string[]): Promise<string>;
}

export async function isolatedContainers(dir: string): Promise<Containers> {
  const root = join(dir, 'root');
  const runroot = join(dir, 'run');
  const tmp = join(dir, 'tmp');
  await mkdir(tmp, { recursive: true });
  const registriesConf = join(dir, 'registries.conf');
  await writeFile(registriesConf, 'unqualified-search-registries = []\n');
  const authFile = join(dir, 'auth.json');
  await writeFile(authFile, '{"auths":{}}\n');
  const env = {
    TMPDIR: tmp,
    REGISTRY_AUTH_FILE: authFile,
    CONTAINERS_REGISTRIES_CONF: registriesConf,
  };
  const podmanArgs = ['--root', root, '--runroot', runroot, '--storage-driver', 'vfs', '--cgroup-manager', 'cgroupfs', '--events-backend', 'file', '--tmpdir', tmp];
  const buildahArgs = ['--root', root, '--runroot', runroot, '--storage-driver', 'vfs'];
  const opts = { env, timeoutMs: 180_000 };
  return {
    dir,
    podman: (args) => runOk('podman', [...podmanArgs, ...args], opts),
    podmanText: (args) => runText('podman', [...podmanArgs, ...args], opts),
    buildah: (args) => runOk('buildah', [...buildahArgs, ...args], opts),
    buildahText: (args) => runText('buildah', [...buildahArgs, ...args], opts),
  };
}
