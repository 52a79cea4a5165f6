// A private containerd daemon (root, state, sockets in a temp dir; CRI disabled) and its `ctr` client.
import { spawn } from 'node:child_process';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tempDir } from '../../support/processes.js';
import { run, runOk, runText, type RunResult } from './exec.js';

export interface Containerd {
  readonly dir: string;
  readonly address: string;
  /** `ctr --address SOCK --namespace NS ARGS`, must exit 0. */
  ctr(args: string[]): Promise<RunResult>;
  ctrText(args: string[]): Promise<string>;
  output(): string;
  stop(): Promise<void>;
}

export const CTR_NAMESPACE = 'wharf-interop';

export async function startContainerd(): Promise<Containerd> {
  const dir = await tempDir('containerd');
  const address = join(dir, 'containerd.sock');
  await mkdir(join(dir, 'opt'), { recursive: true });
  const config = [
    'version = 2',
    `root = "${join(dir, 'root')}"`,
    `state = "${join(dir, 'state')}"`,
    'disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs"]',
    '[grpc]',
    `  address = "${address}"`,
    '[ttrpc]',
    `  address = "${address}.ttrpc"`,
    '[debug]',
    `  address = "${join(dir, 'debug.sock')}"`,
    '  level = "warn"',
    '[plugins."io.containerd.internal.v1.opt"]',
    `  path = "${join(dir, 'opt')}"`,
    '',
  ].join('\n');
  const configFile = join(dir, 'config.toml');
  await writeFile(configFile, config);
  const child = spawn('containerd', ['--config', configFile], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  const keep = (b: Buffer): void => {
    log += b.toString();
    if (log.length > 200_000) log = log.slice(-100_000);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const base = ['--address', address, '--namespace', CTR_NAMESPACE];

  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`containerd exited (code ${child.exitCode}, signal ${child.signalCode}):\n${log}`);
    }
    const failed = await Promise.race([spawnError, new Promise<undefined>((r) => setTimeout(() => r(undefined), 100))]);
    if (failed) throw new Error(`cannot start containerd: ${failed.message} (run scripts/install-test-deps.sh)`);
    const probe = await run('ctr', ['--address', address, 'version'], { timeoutMs: 5_000 });
    if (probe.code === 0) break;
    if (Date.now() > deadline) throw new Error(`containerd not ready after 20 s:\n${probe.stderr}\n${log}`);
  }

  return {
    dir,
    address,
    ctr: (args) => runOk('ctr', [...base, ...args], { timeoutMs: 180_000 }),
    ctrText: (args) => runText('ctr', [...base, ...args], { timeoutMs: 180_000 }),
    output: () => log,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export interface CtrImage {
  ref: string;
  type: string;
  digest: string;
  size: string;
  platforms: string;
}

/** Parses `ctr images ls` (columns REF TYPE DIGEST SIZE PLATFORMS LABELS). */
export function parseImagesLs(text: string): CtrImage[] {
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  const [header, ...rows] = lines;
  if (!header?.startsWith('REF')) throw new Error(`unexpected ctr images ls output:\n${text}`);
  return rows.map((row) => {
    const cols = row.trim().split(/\s+/);
    // SIZE is "12.3 MiB" (two columns)
    const [ref = '', type = '', digest = '', sizeNum = '', sizeUnit = '', platforms = ''] = cols;
    return { ref, type, digest, size: `${sizeNum} ${sizeUnit}`, platforms };
  });
}
