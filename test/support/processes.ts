// Starts real registry processes (Wharf and Debian's Distribution) on loopback for interop tests and the benchmark.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, writeFile, rm, readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

export const projectRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const wharfMain = join(projectRoot, 'dist', 'src', 'cli', 'main.js');

export interface RunningRegistry {
  readonly name: string;
  readonly url: string; // http://127.0.0.1:PORT
  readonly host: string; // 127.0.0.1:PORT
  readonly pid: number;
  readonly dataDir: string;
  readonly process: ChildProcess;
  /** Peak resident set size in bytes, read from /proc/PID/status (VmHWM). */
  peakRss(): Promise<number>;
  /** SIGTERM and wait; SIGKILL after timeoutMs. */
  stop(timeoutMs?: number): Promise<void>;
  /** SIGKILL immediately and wait for exit. */
  kill(): Promise<void>;
  /** Output captured so far (stdout+stderr), for diagnosing failures. */
  output(): string;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export async function tempDir(prefix: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `wharf-${prefix}-`));
}

async function waitReady(url: string, child: ChildProcess, out: () => string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`registry exited before it was ready (code ${child.exitCode}, signal ${child.signalCode}):\n${out()}`);
    }
    try {
      const res = await fetch(`${url}/v2/`);
      await res.arrayBuffer();
      if (res.status === 200 || res.status === 401) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`registry at ${url} not ready after ${timeoutMs} ms:\n${out()}`);
}

function track(name: string, child: ChildProcess, url: string, host: string, dataDir: string, cleanup: () => Promise<void>): RunningRegistry {
  let log = '';
  const keep = (b: Buffer) => {
    log += b.toString();
    if (log.length > 200_000) log = log.slice(-100_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
  return {
    name,
    url,
    host,
    pid: child.pid ?? -1,
    dataDir,
    process: child,
    output: () => log,
    async peakRss() {
      const status = await readFile(`/proc/${child.pid}/status`, 'utf8');
      const m = /VmHWM:\s+(\d+)\s+kB/.exec(status);
      return m ? Number(m[1]) * 1024 : 0;
    },
    async stop(timeoutMs = 10_000) {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
        await exited;
        clearTimeout(timer);
      }
      await cleanup();
    },
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}

export interface WharfOptions {
  dataDir?: string; // reuse an existing data dir (e.g. after a crash); default: fresh temp dir
  configYaml?: string; // extra config file content
  env?: Record<string, string>;
  args?: string[];
  port?: number;
  keepData?: boolean; // do not delete dataDir on stop
}

export async function startWharf(opts: WharfOptions = {}): Promise<RunningRegistry> {
  const port = opts.port ?? (await freePort());
  const dataDir = opts.dataDir ?? (await tempDir('data'));
  const args = [wharfMain, 'serve', '--addr', `127.0.0.1:${port}`, '--data-dir', dataDir];
  let configDir: string | undefined;
  if (opts.configYaml) {
    configDir = await tempDir('config');
    const file = join(configDir, 'wharf.yaml');
    await writeFile(file, opts.configYaml);
    args.push('--config', file);
  }
  args.push(...(opts.args ?? []));
  // Several registries run side by side in tests: the metrics listener takes a free port unless told otherwise.
  const env = { WHARF_METRICS__ADDR: '127.0.0.1:0', ...process.env, ...opts.env };
  const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const url = `http://127.0.0.1:${port}`;
  const reg = track('wharf', child, url, `127.0.0.1:${port}`, dataDir, async () => {
    if (configDir) await rm(configDir, { recursive: true, force: true });
    if (!opts.keepData && !opts.dataDir) await rm(dataDir, { recursive: true, force: true });
  });
  await waitReady(url, child, reg.output);
  return reg;
}

export interface DistributionOptions {
  htpasswdFile?: string;
  port?: number;
  /** Keep config and storage here, and keep them on stop (restarts on the same data); default: a fresh temp dir. */
  dir?: string;
}

/** Debian's docker-registry (CNCF Distribution 2.8.2), the reference registry. */
export async function startDistribution(opts: DistributionOptions = {}): Promise<RunningRegistry> {
  const port = opts.port ?? (await freePort());
  const dir = opts.dir ?? (await tempDir('distribution'));
  await mkdir(dir, { recursive: true });
  const storage = join(dir, 'storage');
  const config = [
    'version: 0.1',
    'log:',
    '  level: error',
    '  accesslog:',
    '    disabled: true',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${storage}`,
    '  delete:',
    '    enabled: true',
    'http:',
    `  addr: 127.0.0.1:${port}`,
    // Fixed, so that upload URLs issued before a restart stay valid after it.
    '  secret: wharf-test-fixed-secret',
    '  relativeurls: true',
    ...(opts.htpasswdFile ? ['auth:', '  htpasswd:', '    realm: wharf-test', `    path: ${opts.htpasswdFile}`] : []),
    '',
  ].join('\n');
  const file = join(dir, 'config.yml');
  await writeFile(file, config);
  const child = spawn('docker-registry', ['serve', file], { stdio: ['ignore', 'pipe', 'pipe'] });
  const url = `http://127.0.0.1:${port}`;
  const reg = track('distribution', child, url, `127.0.0.1:${port}`, storage, async () => {
    if (!opts.dir) await rm(dir, { recursive: true, force: true });
  });
  await waitReady(url, child, reg.output);
  return reg;
}

export interface WharfRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the built `wharf` CLI once with `stdin` fed in; env entries set to undefined are removed. */
export function runWharf(args: readonly string[], opts: { env?: Record<string, string | undefined>; stdin?: string } = {}): Promise<WharfRun> {
  const env = { ...process.env, ...opts.env };
  for (const [k, v] of Object.entries(opts.env ?? {})) if (v === undefined) delete env[k];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [wharfMain, ...args], { stdio: ['pipe', 'pipe', 'pipe'], env });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin!.end(opts.stdin ?? '');
  });
}
