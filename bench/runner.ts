// Runs one scenario on every subject, interleaved: setup on each, then per round A then B, alternating who goes
// first, so drift over the run (thermal, page cache, background writeback) does not favour one registry.
import type { ContentSource } from './content.js';
import { cpuSecondsBetween, cpuSeconds, processTree, snapshotCpu } from './proc.js';
import { disturbed, settle, type Patience } from './quiet.js';
import type { Measurement, Scenario, ScenarioContext } from './scenarios/types.js';
import type { Sizes } from './sizes.js';
import type { Subject } from './subjects.js';

/** Re-measurements of a disturbed round, at most (while the run's patience lasts). */
const RETRIES = 2;

export interface RunRecord {
  readonly scenario: string;
  readonly subject: string;
  readonly round: number;
  readonly measurements: readonly Measurement[];
  readonly error?: string;
  /** The measured window: wall time, and CPU used over it in cores (1.0 = one core busy all the time). */
  readonly windowMs?: number;
  readonly clientCores?: number;
  readonly serverCores?: number;
  readonly otherCores?: number;
  /** Present when the round was measured more than once because other processes disturbed it. */
  readonly attempts?: number;
}

export interface RunSettings {
  readonly content: ContentSource;
  readonly sizes: Sizes;
  /** --rounds: overrides every scenario's own number of rounds. */
  readonly rounds?: number;
  readonly log: (line: string) => void;
  readonly patience: Patience;
}

/** CPU seconds over the measured window(s) of one run; a scenario may time several windows (e.g. repeated pulls). */
interface Window {
  ms: number;
  clientCpuMs: number;
  serverCpuMs?: number;
  /** CPU used by every other user process (someone's build, the idle registry): noise in the figure. */
  otherCpuMs?: number;
}

function addWindow(total: Window | undefined, w: Window): Window {
  if (!total) return w;
  const sum: Window = { ms: total.ms + w.ms, clientCpuMs: total.clientCpuMs + w.clientCpuMs };
  if (total.serverCpuMs !== undefined && w.serverCpuMs !== undefined) sum.serverCpuMs = total.serverCpuMs + w.serverCpuMs;
  if (total.otherCpuMs !== undefined && w.otherCpuMs !== undefined) sum.otherCpuMs = total.otherCpuMs + w.otherCpuMs;
  return sum;
}

function contextFor(subject: Subject, settings: RunSettings, round: number, record: (w: Window) => void): ScenarioContext {
  const client = subject.client;
  if (!client) throw new Error(`${subject.label} has no client`);
  const { pid } = subject;
  return {
    client,
    content: settings.content,
    sizes: settings.sizes,
    round,
    serverCpu: async () => (pid === undefined ? undefined : cpuSeconds(pid)),
    async timed(fn) {
      const serverTree = pid === undefined ? [] : await processTree(pid);
      const server0 = pid === undefined ? undefined : await cpuSeconds(pid);
      const machine0 = await snapshotCpu();
      const client0 = process.cpuUsage();
      const t0 = performance.now();
      await fn();
      const ms = performance.now() - t0;
      const used = process.cpuUsage(client0);
      const machine1 = await snapshotCpu();
      const server1 = pid === undefined ? undefined : await cpuSeconds(pid);
      const w: Window = { ms, clientCpuMs: (used.user + used.system) / 1000 };
      if (server0 !== undefined && server1 !== undefined) {
        w.serverCpuMs = (server1 - server0) * 1000;
        w.otherCpuMs = cpuSecondsBetween(machine0, machine1, new Set([process.pid, ...serverTree])) * 1000;
      }
      record(w);
      return ms;
    },
  };
}

function describe(m: readonly Measurement[], w: Window | undefined): string {
  const figures = m.map((x) => `${x.metric} ${x.value.toFixed(x.value < 10 ? 2 : 1)} ${x.unit}`).join(', ');
  if (!w) return figures;
  const server = w.serverCpuMs === undefined ? '' : `, server ${(w.serverCpuMs / w.ms).toFixed(2)}`;
  const other = w.otherCpuMs === undefined ? '' : `, other ${(w.otherCpuMs / w.ms).toFixed(2)}`;
  return `${figures}  [${(w.ms / 1000).toFixed(2)} s measured; CPU cores: client ${(w.clientCpuMs / w.ms).toFixed(2)}${server}${other}]`;
}

/** `position` (the scenario's index in the run) decides who goes first in round 0; it then alternates. */
export async function runScenario(scenario: Scenario, subjects: readonly Subject[], position: number, settings: RunSettings): Promise<RunRecord[]> {
  const records: RunRecord[] = [];
  const failed = new Set<Subject>();
  const fail = (subject: Subject, round: number, err: unknown): void => {
    failed.add(subject);
    const error = err instanceof Error ? err.message : String(err);
    records.push({ scenario: scenario.id, subject: subject.label, round, measurements: [], error });
    settings.log(`  ${scenario.id} ${subject.label}: FAILED: ${error}`);
  };

  const active = subjects.filter((s) => s.client);
  for (const s of subjects.filter((x) => !x.client)) settings.log(`  ${scenario.id} ${s.label}: skipped: ${s.skipped ?? 'not available'}`);
  for (const subject of active) {
    if (!scenario.setup) break;
    try {
      await scenario.setup(contextFor(subject, settings, 0, () => {}));
    } catch (err) {
      fail(subject, 0, err);
    }
  }

  const rounds = settings.rounds ?? scenario.rounds;
  for (let round = 0; round < rounds; round++) {
    const order = (position + round) % 2 === 0 ? active : [...active].reverse();
    // A disturbed round is measured again for every subject, not only the disturbed one: a ratio of a quiet
    // figure to a disturbed one would favour whichever registry happened to get the quiet minutes.
    for (let attempt = 0; ; attempt++) {
      const measured: RunRecord[] = [];
      for (const subject of order) {
        if (failed.has(subject)) continue;
        try {
          // Repeated attempts use round numbers past the last round, so they push content not pushed before.
          measured.push(await measureOnce(scenario, subject, settings, round, round + attempt * rounds, rounds));
        } catch (err) {
          fail(subject, round, err);
        }
      }
      const shaken = measured.filter(disturbed);
      if (shaken.length > 0 && attempt < RETRIES && settings.patience.left) {
        settings.patience.spend(measured.reduce((ms, r) => ms + (r.windowMs ?? 0), 0));
        settings.log(`  (round disturbed by other processes on ${shaken.map((r) => r.subject).join(', ')}: measuring it again for all)`);
        continue;
      }
      records.push(...measured.map((r) => (attempt > 0 ? { ...r, attempts: attempt + 1 } : r)));
      break;
    }
  }
  return records;
}

/** One measured run of one subject, with its CPU figures. */
async function measureOnce(scenario: Scenario, subject: Subject, settings: RunSettings, round: number, contentRound: number, rounds: number): Promise<RunRecord> {
  await settle(settings.patience, settings.log);
  const seen: { window?: Window } = {};
  const measurements = await scenario.run(contextFor(subject, settings, contentRound, (w) => (seen.window = addWindow(seen.window, w))));
  const { window } = seen;
  const record: RunRecord = {
    scenario: scenario.id,
    subject: subject.label,
    round,
    measurements,
    ...(window ? { windowMs: window.ms, clientCores: window.clientCpuMs / window.ms } : {}),
    ...(window?.serverCpuMs !== undefined ? { serverCores: window.serverCpuMs / window.ms } : {}),
    ...(window?.otherCpuMs !== undefined ? { otherCores: window.otherCpuMs / window.ms } : {}),
  };
  settings.log(`  ${scenario.id} ${subject.label}${rounds > 1 ? ` round ${round + 1}/${rounds}` : ''}: ${describe(measurements, window)}`);
  return record;
}
