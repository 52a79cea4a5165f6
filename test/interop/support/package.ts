// The package as users get it: `npm pack` from a copy of the sources (so prepack's clean build runs without
// touching the dist/ the other tests use), then `npm install -g` of the tarball into an empty prefix, from a
// directory outside the source tree.
import { cp, mkdir, readdir, stat, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { projectRoot } from '../../support/processes.js';
import { runOk, runText } from './exec.js';

export interface PackedWharf {
  readonly tarball: string;
  readonly tarballBytes: number;
  readonly files: readonly string[];
  readonly packMs: number;
}

/** What the build needs, as a fresh clone has it; node_modules is shared with the checkout (dev tools included). */
const sourceEntries = ['package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json', 'README.md', 'src', 'web'];

export async function packWharf(work: string): Promise<PackedWharf> {
  const tree = join(work, 'source');
  await mkdir(tree, { recursive: true });
  for (const entry of sourceEntries) await cp(join(projectRoot, entry), join(tree, entry), { recursive: true });
  await symlink(join(projectRoot, 'node_modules'), join(tree, 'node_modules'));
  const out = join(work, 'pack');
  await mkdir(out);
  const started = Date.now();
  await runOk('npm', ['pack', '--pack-destination', out, '--no-audit', '--no-fund'], { cwd: tree, timeoutMs: 300_000 });
  const packMs = Date.now() - started;
  const [name] = (await readdir(out)).filter((f) => f.endsWith('.tgz'));
  if (!name) throw new Error(`npm pack wrote no tarball into ${out}`);
  const tarball = join(out, name);
  const files = (await runText('tar', ['-tzf', tarball])).split('\n').filter(Boolean);
  return { tarball, tarballBytes: (await stat(tarball)).size, files, packMs };
}

export interface InstalledWharf {
  /** The --prefix: bin/wharf and lib/node_modules/wharf. */
  readonly prefix: string;
  readonly bin: string;
  readonly packageDir: string;
  readonly installMs: number;
}

/**
 * `npm install -g` into an empty prefix: only production dependencies, their install scripts (the SQLite and bcrypt
 * bindings), and no `prepare`, which a tarball install never runs.
 */
export async function installWharf(tarball: string, work: string): Promise<InstalledWharf> {
  const prefix = join(work, 'prefix');
  const cwd = join(work, 'elsewhere');
  await mkdir(cwd, { recursive: true });
  const started = Date.now();
  await runOk('npm', ['install', '--global', '--prefix', prefix, '--prefer-offline', '--no-audit', '--no-fund', tarball], { cwd, timeoutMs: 900_000 });
  return { prefix, bin: join(prefix, 'bin', 'wharf'), packageDir: join(prefix, 'lib', 'node_modules', 'wharf'), installMs: Date.now() - started };
}
