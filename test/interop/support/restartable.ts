// A registry that can be SIGKILLed and started again on the same data directory and port (crash test).
// Wharf goes through startWharf({dataDir, port, keepData}), Distribution through startDistribution({dir, port}).
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { startDistribution, startWharf } from '../../support/processes.js';
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

/** Starts the selected registry on `dataDir` (kept across restarts; the caller removes it) and `port`. */
export async function startOnDataDir(dataDir: string, port: number): Promise<Incarnation> {
  if (targetName() === 'distribution') return startDistribution({ dir: dataDir, port });
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
