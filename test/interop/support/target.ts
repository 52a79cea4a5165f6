// Chooses the registry under test: Wharf by default, Debian's Distribution with INTEROP_TARGET=distribution.
//
// Running the interop suite (real clients; install them with scripts/install-test-deps.sh, as root):
//   npm run test:interop                                   # against Wharf (dist/src/cli/main.js)
//   INTEROP_TARGET=distribution npm run test:interop       # against the reference registry
//   node --test dist/test/interop/crash.test.js            # one file
// Other knobs: INTEROP_VERBOSE=1 logs every client command with its duration; CRASH_KEEP_DATA=1 keeps the
// crash test's data directory when it fails.
import { access } from 'node:fs/promises';
import { startDistribution, startWharf, wharfMain, type RunningRegistry } from '../../support/processes.js';

export type TargetName = 'wharf' | 'distribution';

export function targetName(): TargetName {
  const raw = (process.env.INTEROP_TARGET ?? 'wharf').trim().toLowerCase();
  if (raw === '' || raw === 'wharf') return 'wharf';
  if (raw === 'distribution' || raw === 'registry' || raw === 'docker-registry') return 'distribution';
  throw new Error(`INTEROP_TARGET must be "wharf" or "distribution", got ${JSON.stringify(process.env.INTEROP_TARGET)}`);
}

export async function assertWharfBuilt(): Promise<void> {
  try {
    await access(wharfMain);
  } catch {
    throw new Error(`Wharf is not built: ${wharfMain} is missing (run npm run build), or set INTEROP_TARGET=distribution`);
  }
}

/** Starts a fresh, empty registry of the selected kind. */
export async function startTarget(): Promise<RunningRegistry> {
  if (targetName() === 'distribution') return startDistribution();
  await assertWharfBuilt();
  return startWharf();
}
