// `npm run bench`: Wharf against Distribution (or any registry with --target), figures, ratios and targets.
import { cpus, release } from 'node:os';
import { execFileSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { parseOptions, usage, type Options } from './args.js';
import { ContentSource } from './content.js';
import { fullGrowth, growthRows, quickGrowth } from './growth.js';
import { createHtpasswd } from './htpasswd.js';
import { peakRss } from './proc.js';
import { makeRow, missedTargets, renderTable, scenarioRows, type Row } from './report.js';
import { disturbed, Patience } from './quiet.js';
import { runScenario, type RunRecord, type RunSettings } from './runner.js';
import type { Profile, Scenario } from './scenarios/types.js';
import { describeSizes, fullSizes, maxConcurrency, quickSizes } from './sizes.js';
import { labelsFor, startSubject, stopAll, targetSubject, type Subject } from './subjects.js';

const log = (line: string): void => void process.stderr.write(`${line}\n`);

/** Extra time a full run may spend waiting out other work on the machine (see Patience); keeps it near 6 min. */
const PATIENCE_MS = 150_000;

interface Results {
  readonly labels: string[];
  readonly rows: Row[];
  readonly records: RunRecord[];
  readonly notes: string[];
  /** Scenarios started so far; decides which registry goes first in the next one. */
  position: number;
}

/** Runs scenarios in order on the subjects, then reads each server's peak RSS. */
async function runGroup(list: readonly Scenario[], subjects: readonly Subject[], profile: Profile, settings: RunSettings, out: Results, paired: boolean): Promise<void> {
  for (const scenario of list) {
    log(`== ${scenario.id}: ${scenario.title}`);
    const records = await runScenario(scenario, subjects, out.position++, settings);
    out.records.push(...records);
    out.rows.push(...scenarioRows(scenario, out.labels, records));
  }
  const rss = await Promise.all(
    subjects.map(async (s) => {
      if (s.pid === undefined || !s.client) return undefined;
      try {
        return (await peakRss(s.pid)) / 1024 / 1024;
      } catch {
        out.notes.push(`${s.label}: server process ${s.pid} is gone; no peak RSS (did it crash?)`);
        return undefined;
      }
    }),
  );
  const target = profile === 'open' && paired ? { metric: 'peak RSS', op: '<=' as const, ratio: 1.5 } : undefined;
  out.rows.push(makeRow(profile === 'open' ? 'server' : 'server (auth)', { metric: 'peak RSS', unit: 'MiB', better: 'lower' }, rss, target));
}

async function runPair(opts: Options, settings: RunSettings, out: Results): Promise<void> {
  for (const profile of ['open', 'auth'] as const) {
    const list = opts.scenarios.filter((s) => s.profile === profile);
    if (list.length === 0) continue;
    const htpasswd = profile === 'auth' ? await createHtpasswd(5) : undefined;
    const subjects: Subject[] = [];
    try {
      for (const [i, kind] of opts.pair.entries()) {
        subjects.push(
          await startSubject(kind, out.labels[i]!, {
            profile,
            connections: maxConcurrency(settings.sizes),
            ...(htpasswd ? { htpasswd } : {}),
            ...(opts.wharfAuthConfig ? { wharfAuthConfig: opts.wharfAuthConfig } : {}),
            ...(opts.pgUrl ? { pgUrl: opts.pgUrl } : {}),
          }),
        );
      }
      for (const s of subjects.filter((x) => x.failedToStart)) out.notes.push(`ERROR ${s.label} (${profile}): ${s.skipped}`);
      log(`started (${profile}): ${subjects.map((s) => `${s.label}${s.pid ? ` pid ${s.pid}` : ` skipped: ${s.skipped}`}`).join(', ')}`);
      await runGroup(list, subjects, profile, settings, out, true);
    } finally {
      for (const s of subjects) await s.stop();
      await htpasswd?.remove();
    }
  }
}

function versions(): Record<string, string> {
  const run = (cmd: string, args: string[]): string => {
    try {
      return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    } catch {
      return 'unknown';
    }
  };
  return { wharf: run('git', ['describe', '--always', '--dirty']), distribution: run('docker-registry', ['--version']), node: process.version };
}

async function main(): Promise<number> {
  let opts: Options;
  try {
    opts = parseOptions(process.argv.slice(2));
  } catch (err) {
    log(`${(err as Error).message}\n\n${usage}`);
    return 2;
  }
  if (opts.help) {
    console.log(usage);
    return 0;
  }
  const sizes = opts.quick ? quickSizes : fullSizes;
  // A --quick run is a smoke test: one round of everything unless --rounds says otherwise.
  const roundsOverride = opts.rounds ?? (opts.quick ? 1 : undefined);
  const settings: RunSettings = {
    content: new ContentSource(),
    sizes,
    log,
    patience: new Patience(opts.quick ? 30_000 : PATIENCE_MS, log),
    ...(roundsOverride ? { rounds: roundsOverride } : {}),
  };
  const startedAt = new Date();
  const out: Results = { labels: [], rows: [], records: [], notes: [], position: 0 };

  if (opts.target) {
    const { url, credentials, pid } = opts.target;
    const subject = targetSubject(url, maxConcurrency(sizes), credentials, pid);
    out.labels.push(subject.label);
    try {
      await runGroup(opts.scenarios, [subject], 'open', settings, out, false);
    } finally {
      await subject.stop();
    }
  } else {
    out.labels.push(...labelsFor(opts.pair));
    await runPair(opts, settings, out);
    if (opts.growth) {
      try {
        out.rows.push(...(await growthRows(opts.quick ? quickGrowth : fullGrowth, log)));
      } catch (err) {
        out.notes.push(`ERROR growth: ${(err as Error).message}`);
      }
    }
  }

  const seconds = (Date.now() - startedAt.getTime()) / 1000;
  const v = versions();
  const machine = `${cpus().length} cores (${cpus()[0]?.model ?? 'unknown'}), Linux ${release()}, Node ${v.node}`;
  const errors = out.records.filter((r) => r.error);
  const startErrors = out.notes.filter((n) => n.startsWith('ERROR'));
  const busyClient = out.records.filter((r) => (r.clientCores ?? 0) > 0.9);
  const busyMachine = out.records.filter(disturbed);

  console.log(`\nWharf benchmark${opts.quick ? ' (--quick)' : ''}: ${startedAt.toISOString()}, ${seconds.toFixed(0)} s; ${machine}`);
  const rounds = Object.fromEntries(opts.scenarios.map((s) => [s.id, roundsOverride ?? s.rounds]));
  const roundsText = Object.entries(rounds).map(([id, n]) => `${id} ${n}`).join(', ');
  console.log(`Wharf ${v.wharf}; ${v.distribution}; rounds (median reported): ${roundsText}`);
  for (const line of describeSizes(sizes)) console.log(`  ${line}`);
  console.log('');
  console.log(renderTable(out.rows, out.labels));
  console.log('');
  if (out.labels.length === 2) {
    const misses = missedTargets(out.rows, out.labels);
    console.log(misses.length === 0 ? 'All targets met.' : misses.join('\n'));
  }
  for (const r of busyClient) console.log(`note: the client used ${r.clientCores?.toFixed(2)} cores during ${r.scenario} on ${r.subject}; that figure may be client-bound`);
  if (busyMachine.length > 0) {
    const where = busyMachine.map((r) => `${r.scenario} on ${r.subject}${r.round > 0 ? ` (round ${r.round + 1})` : ''}: ${r.otherCores?.toFixed(2)}`).join('; ');
    console.log(`* WARNING: other processes used CPU during measured runs (cores) - ${where}. Those figures are disturbed; rerun on a quiet machine.`);
  }
  for (const n of out.notes) console.log(n.startsWith('ERROR') ? n : `note: ${n}`);
  for (const e of errors) console.log(`ERROR ${e.scenario} on ${e.subject}: ${e.error}`);

  if (opts.json) {
    const doc = { startedAt: startedAt.toISOString(), seconds, quick: opts.quick, rounds, machine, versions: v, sizes, labels: out.labels, rows: out.rows, runs: out.records, notes: out.notes };
    await writeFile(opts.json, JSON.stringify(doc, null, 2) + '\n');
    log(`wrote ${opts.json}`);
  }
  // Missed targets are findings, not failures; a registry that answered wrongly makes the whole run invalid.
  return errors.length + startErrors.length > 0 ? 1 : 0;
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    log(`\n${signal}: stopping the registries and removing their data`);
    void stopAll().finally(() => process.exit(130));
  });
}

process.exitCode = await main();
