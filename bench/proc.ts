// Reads CPU time and peak memory of a server from /proc. A server may run several processes (cluster workers,
// helpers), so figures cover the process and all its live descendants.
import { execFileSync } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';

const ticksPerSecond = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** The fields of /proc/PID/stat after the command name (which is in parentheses and may contain spaces). */
async function statFields(pid: number): Promise<string[]> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

/** `pid` and every live process below it. */
export async function processTree(pid: number): Promise<number[]> {
  const children = new Map<number, number[]>();
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const ppid = Number((await statFields(Number(entry)))[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
    } catch {
      // exited while we looked
    }
  }
  const tree = [pid];
  for (let i = 0; i < tree.length; i++) tree.push(...(children.get(tree[i]!) ?? []));
  return tree;
}

/** User + system CPU seconds consumed so far by the server's processes (all threads). */
export async function cpuSeconds(pid: number): Promise<number> {
  let total = 0;
  for (const p of await processTree(pid)) {
    try {
      const fields = await statFields(p);
      total += (Number(fields[11]) + Number(fields[12])) / ticksPerSecond;
    } catch {
      if (p === pid) throw new Error(`process ${pid} is gone`);
    }
  }
  return total;
}

/**
 * Peak resident set size (VmHWM) in bytes. For a multi-process server this is the sum of each process's own
 * peak, an upper bound (the peaks need not coincide), so it never flatters a server.
 */
export async function peakRss(pid: number): Promise<number> {
  let total = 0;
  for (const p of await processTree(pid)) {
    try {
      const m = /VmHWM:\s+(\d+)\s+kB/.exec(await readFile(`/proc/${p}/status`, 'utf8'));
      total += m ? Number(m[1]) * 1024 : 0;
    } catch {
      if (p === pid) throw new Error(`process ${pid} is gone`);
    }
  }
  return total;
}

/** CPU ticks of the machine and of every user-space process (kernel threads left out), keyed by pid and start. */
export interface CpuSnapshot {
  readonly machine: number;
  readonly ticks: ReadonlyMap<string, { readonly pid: number; readonly ticks: number }>;
}

/**
 * Kernel threads (kthreadd, pid 2, and its children) are left out: disk writeback and network work they do for
 * the servers is part of the measurement, not a disturbance. Each process counts its reaped children's time
 * (cutime, cstime), so a short command that ran and exited between two snapshots still shows up.
 */
export async function snapshotCpu(): Promise<CpuSnapshot> {
  const stat = await readFile('/proc/stat', 'utf8');
  const [user = 0, nice = 0, system = 0] = (stat.split('\n')[0] ?? '').trim().split(/\s+/).slice(1).map(Number);
  const ticks = new Map<string, { pid: number; ticks: number }>();
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    try {
      const f = await statFields(pid);
      if (pid === 2 || f[1] === '2') continue;
      ticks.set(`${pid}:${f[19]}`, { pid, ticks: Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]) });
    } catch {
      // exited while we looked
    }
  }
  return { machine: user + nice + system, ticks };
}

/**
 * CPU seconds used between two snapshots by user processes other than `exclude`. Two estimates, the smaller
 * wins: the sum over processes (which over-counts when a long-lived child is reaped, since its parent's cutime
 * then jumps by the child's whole lifetime) and the machine's busy time minus the excluded processes' (which
 * includes kernel threads). Both are exact when nothing else runs.
 */
export function cpuSecondsBetween(before: CpuSnapshot, after: CpuSnapshot, exclude: ReadonlySet<number>): number {
  let others = 0;
  let excluded = 0;
  for (const [key, { pid, ticks }] of after.ticks) {
    const delta = ticks - (before.ticks.get(key)?.ticks ?? 0);
    if (exclude.has(pid)) excluded += delta;
    else others += delta;
  }
  return Math.max(0, Math.min(others, after.machine - before.machine - excluded)) / ticksPerSecond;
}
