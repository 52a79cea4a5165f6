// Keeping other work on the machine out of the figures: the client and both servers share its two cores, so
// a build or test suite running alongside would distort them. Measured runs wait for quiet, are measured again
// when disturbed (within a time budget) and are flagged when that did not help.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { cpuSecondsBetween, snapshotCpu } from './proc.js';

/** Other processes may use this many cores between runs before we wait, and this many during one before it is disturbed. */
const QUIET_CORES = 0.1;
const DISTURBED_CORES = 0.15;
/** Longest wait for quiet before one measured run. */
const QUIET_WAIT_MS = 20_000;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Cores used over `ms` by user processes other than this one (both registries are idle at this point). */
async function foreignLoad(ms: number): Promise<number> {
  const before = await snapshotCpu();
  await sleep(ms);
  return cpuSecondsBetween(before, await snapshotCpu(), new Set([process.pid])) / (ms / 1000);
}

/**
 * How much extra time the run may spend waiting for, or re-measuring after, other work on the machine. On a
 * machine that stays busy (someone's test suite) waiting does not help; then rounds are just flagged.
 */
export class Patience {
  private spentMs = 0;
  private exhausted = false;
  constructor(
    private readonly budgetMs: number,
    private readonly log: (line: string) => void,
  ) {}

  get left(): boolean {
    return !this.exhausted;
  }

  spend(ms: number): void {
    this.spentMs += ms;
    if (!this.exhausted && this.spentMs >= this.budgetMs) {
      this.exhausted = true;
      this.log(`  (the machine stays busy: no more waiting or re-measuring in this run; disturbed figures are flagged)`);
    }
  }
}

/**
 * Before each measured run: flush dirty pages left by the previous run, so its writeback is not charged to the
 * next registry (each server's own fsync behaviour is untouched), then wait, within the run's patience, for
 * other work on the machine (a build, a test suite) to stop, since the servers and the client share its cores.
 */
export async function settle(patience: Patience, log: (line: string) => void): Promise<void> {
  await promisify(execFile)('sync');
  if (!patience.left) return;
  const t0 = performance.now();
  let load = await foreignLoad(300);
  if (load <= QUIET_CORES) return;
  log(`  (waiting up to ${QUIET_WAIT_MS / 1000} s for other processes to quieten: ${load.toFixed(2)} cores busy)`);
  while (load > QUIET_CORES && performance.now() - t0 < QUIET_WAIT_MS) load = await foreignLoad(1000);
  patience.spend(performance.now() - t0);
}

/** A run during which other processes used this much CPU (cores, beyond tick granularity) is disturbed. */
export function disturbed(r: { readonly otherCores?: number; readonly windowMs?: number }): boolean {
  // /proc counts CPU in 10 ms ticks over several processes, so allow a few ticks of slack on short windows.
  return (r.otherCores ?? 0) * (r.windowMs ?? 0) > DISTURBED_CORES * (r.windowMs ?? 0) + 30;
}
