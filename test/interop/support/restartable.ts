// A registry that can be SIGKILLed and started again on the same data directory and port (crash test).
// Wharf goes through startWharf({dataDir, port, keepData}); Distribution gets its own config here, with a fixed
// http.secret so that upload URLs issued before a restart stay valid after it.
import { spawn } from 'node:child_process';
import { mkdir, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startWharf } from '../../support/processes.js';
import { assertWharfBuilt, targetName } from './target.js';

export interface Incarnation {
  readonly name: string;
  readonly url: string;
  readonly host: string;
  readonly pid: number;
  kill(): Promise<void>;
  stop(timeoutMs?: number): Promise<void>;
  output(): string;
}

async function startDistributionAt(dataDir: string, port: number): Promise<Incarnation> {
  const storage = join(dataDir, 'storage');
  await mkdir(storage, { recursive: true });
  const file = join(dataDir, 'config.yml');
  await writeFile(
    file,
    [
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
      '  secret: wharf-crash-test-fixed-secret',
      '  relativeurls: true',
      '',
    ].join('\n'),
  );
  const child = spawn('docker-registry', ['serve', file], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  const keep = (b: Buffer): void => {
    log += b.toString();
    if (log.length > 200_000) log = log.slice(-100_000);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`docker-registry exited:\n${log}`);
    try {
      const res = await fetch(`${url}/v2/`);
      await res.arrayBuffer();
      if (res.status === 200) break;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new Error(`docker-registry not ready:\n${log}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const alive = (): boolean => child.exitCode === null && child.signalCode === null;
  return {
    name: 'distribution',
    url,
    host: `127.0.0.1:${port}`,
    pid: child.pid ?? -1,
    output: () => log,
    async kill() {
      if (alive()) child.kill('SIGKILL');
      await exited;
    },
    async stop(timeoutMs = 10_000) {
      if (alive()) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
        await exited;
        clearTimeout(timer);
      }
    },
  };
}

/** Starts the selected registry on `dataDir` (kept across restarts; the caller removes it) and `port`. */
export async function startOnDataDir(dataDir: string, port: number): Promise<Incarnation> {
  if (targetName() === 'distribution') return startDistributionAt(dataDir, port);
  await assertWharfBuilt();
  return startWharf({ dataDir, port, keepData: true });
}

/**
 * Distribution only: zero-length `link` files in its storage. Distribution 2.8.2 overwrites link files in place
 * (truncate, then write), so a SIGKILL between the two leaves an empty link that it answers with 500 ever after.
 */
export async function distributionEmptyLinks(dataDir: string): Promise<string[]> {
  const root = join(dataDir, 'storage', 'docker', 'registry', 'v2');
  const found: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = join(dir, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.name === 'link' && (await stat(p)).size === 0) found.push(p.slice(root.length + 1));
    }
  };
  await walk(root);
  return found;
}
