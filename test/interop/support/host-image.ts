// An image equivalent to deploy/Containerfile, built where no base image can be pulled: `buildah from scratch`
// plus this machine's Node binary and the shared libraries it and the native addons load, plus the package as
// `npm install -g` installed it. The runtime settings (ENV, USER, WORKDIR, VOLUME, EXPOSE, HEALTHCHECK,
// ENTRYPOINT, CMD) are read from the Containerfile's last stage, so the test runs what the file declares.
import { chmod, chown, cp, mkdir, readdir, readFile, realpath, symlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Containers } from './podman.js';
import { run } from './exec.js';

export interface ContainerfileRuntime {
  readonly env: readonly [string, string][];
  readonly user: string;
  readonly workdir: string;
  readonly volumes: readonly string[];
  readonly expose: readonly string[];
  readonly healthcheck: { readonly cmd: readonly string[]; readonly options: Readonly<Record<string, string>> } | null;
  readonly entrypoint: readonly string[];
  readonly cmd: readonly string[];
}

/** The last stage's runtime instructions; each must sit on one line (the Containerfile says so). */
export async function readContainerfile(path: string): Promise<ContainerfileRuntime> {
  const lines = (await readFile(path, 'utf8')).split('\n');
  const lastFrom = lines.map((l) => /^FROM\s/i.test(l)).lastIndexOf(true);
  const stage = lines.slice(lastFrom + 1).filter((l) => /^[A-Z]+\s/.test(l));
  const args = (name: string) => stage.filter((l) => l.startsWith(`${name} `)).map((l) => l.slice(name.length + 1).trim());
  const one = (name: string) => {
    const found = args(name);
    if (found.length !== 1) throw new Error(`${path}: expected one ${name} in the last stage, found ${found.length}`);
    return found[0]!;
  };
  const json = (text: string) => JSON.parse(text) as string[];
  const health = args('HEALTHCHECK')[0];
  let healthcheck: ContainerfileRuntime['healthcheck'] = null;
  if (health) {
    const at = health.indexOf('CMD ');
    const options = Object.fromEntries([...health.slice(0, at).matchAll(/--([a-z-]+)=(\S+)/g)].map((m) => [m[1]!, m[2]!]));
    healthcheck = { cmd: json(health.slice(at + 4)), options };
  }
  return {
    env: args('ENV').map((e) => {
      const i = e.indexOf('=');
      return [e.slice(0, i), e.slice(i + 1)];
    }),
    user: one('USER'),
    workdir: one('WORKDIR'),
    volumes: args('VOLUME'),
    expose: args('EXPOSE'),
    healthcheck,
    entrypoint: json(one('ENTRYPOINT')),
    cmd: json(one('CMD')),
  };
}

/** Shared libraries (and the dynamic loader) that `ldd` says the files load. */
async function sharedLibraries(files: readonly string[]): Promise<string[]> {
  const libs = new Set<string>();
  for (const file of files) {
    // Prebuilt addons for other platforms ship too: ldd refuses them, and they are never loaded here.
    const res = await run('ldd', [file]);
    for (const m of res.stdout.toString('utf8').matchAll(/(\/\S+\.so(?:\.\d+)*)\s+\(0x/g)) libs.add(m[1]!);
  }
  return [...libs].sort();
}

async function nativeAddons(dir: string): Promise<string[]> {
  const found: string[] = [];
  const walk = async (d: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.isFile() && e.name.endsWith('.node')) found.push(p);
    }
  };
  await walk(dir);
  return found;
}

export interface HostImage {
  readonly name: string;
  readonly runtime: ContainerfileRuntime;
  readonly uid: number;
  readonly buildMs: number;
}

/**
 * Lays out the root filesystem the Containerfile's final stage would have: Node at /usr/local/bin/node (where the
 * official image has it), the installed prefix at /opt/wharf, a wharf user, /data owned by it.
 */
export async function buildHostImage(containers: Containers, options: { prefix: string; containerfile: string; work: string; name: string }): Promise<HostImage> {
  const started = Date.now();
  const runtime = await readContainerfile(options.containerfile);
  const uid = Number(runtime.user.split(':')[0]);
  const gid = Number(runtime.user.split(':')[1] ?? uid);
  const rootfs = join(options.work, 'rootfs');
  const node = await realpath(process.execPath);
  const put = async (source: string, target: string) => {
    await mkdir(dirname(join(rootfs, target)), { recursive: true });
    await cp(await realpath(source), join(rootfs, target));
  };
  await put(node, '/usr/local/bin/node');
  // The slim image has coreutils; of them the package needs env, for its bin's `#!/usr/bin/env node`.
  await put('/usr/bin/env', '/usr/bin/env');
  for (const lib of await sharedLibraries([node, '/usr/bin/env', ...(await nativeAddons(options.prefix))])) await put(lib, lib);
  await cp(options.prefix, join(rootfs, 'opt/wharf'), { recursive: true, verbatimSymlinks: true });
  await symlink('/opt/wharf/bin/wharf', join(rootfs, 'usr/local/bin/wharf'));
  await mkdir(join(rootfs, 'etc'), { recursive: true });
  await writeFile(join(rootfs, 'etc/passwd'), `root:x:0:0:root:/root:/usr/sbin/nologin\nwharf:x:${uid}:${gid}:wharf:/data:/usr/sbin/nologin\n`);
  await writeFile(join(rootfs, 'etc/group'), `root:x:0:\nwharf:x:${gid}:\n`);
  await mkdir(join(rootfs, 'data'));
  await chown(join(rootfs, 'data'), uid, gid);
  await mkdir(join(rootfs, 'tmp'));
  await chmod(join(rootfs, 'tmp'), 0o1777);

  const ctr = (await containers.buildahText(['from', '--format', 'docker', 'scratch'])).split('\n').pop()!;
  try {
    await containers.buildah(['copy', ctr, `${rootfs}/`, '/']);
    // The base image's PATH, so `podman exec CTR wharf …` finds node and wharf as it would there.
    const config = ['config', '--env', 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', '--user', runtime.user, '--workingdir', runtime.workdir];
    for (const [k, v] of runtime.env) config.push('--env', `${k}=${v}`);
    for (const v of runtime.volumes) config.push('--volume', v);
    for (const p of runtime.expose) config.push('--port', p);
    config.push('--entrypoint', JSON.stringify(runtime.entrypoint), '--cmd', JSON.stringify(runtime.cmd));
    if (runtime.healthcheck) {
      // buildah splits `CMD a b c` on spaces (it takes no JSON form); the arguments hold none.
      config.push('--healthcheck', `CMD ${runtime.healthcheck.cmd.join(' ')}`);
      for (const [k, v] of Object.entries(runtime.healthcheck.options)) config.push(`--healthcheck-${k}`, v);
    }
    await containers.buildah([...config, ctr]);
    await containers.buildah(['commit', '--format', 'docker', ctr, options.name]);
  } finally {
    await containers.buildah(['rm', ctr]).catch(() => {});
  }
  return { name: options.name, runtime, uid, buildMs: Date.now() - started };
}
