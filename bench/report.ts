// Turns run records into rows (median over rounds per subject, ratio A / B, target verdict) and renders them.
import { disturbed } from './quiet.js';
import type { RunRecord } from './runner.js';
import type { MetricSpec, Scenario, Target } from './scenarios/types.js';
import { median } from './stats.js';

export interface Row {
  readonly scenario: string;
  readonly metric: string;
  readonly unit: string;
  readonly better: MetricSpec['better'];
  /** One per subject, in column order; undefined when that subject failed or was skipped. */
  readonly values: readonly (number | undefined)[];
  /** Per subject: true when it failed this scenario (shown as FAILED rather than '-'). */
  readonly failed?: readonly boolean[];
  /** Per subject: true when other processes disturbed any of its rounds (value shown with a '*'). */
  readonly disturbed?: readonly boolean[];
  readonly ratio?: number;
  readonly target?: Target;
  /** Whether the ratio meets the target; undefined when there is no target or no ratio. */
  readonly ok?: boolean;
}

function verdict(target: Target | undefined, ratio: number | undefined): boolean | undefined {
  if (!target || ratio === undefined || !Number.isFinite(ratio)) return undefined;
  return target.op === '>=' ? ratio >= target.ratio : ratio <= target.ratio;
}

export function makeRow(scenario: string, m: MetricSpec, values: (number | undefined)[], target?: Target, failed?: boolean[]): Row {
  const [a, b] = values;
  const ratio = values.length === 2 && a !== undefined && b !== undefined && b !== 0 ? a / b : undefined;
  const ok = verdict(target, ratio);
  return { scenario, metric: m.metric, unit: m.unit, better: m.better, values, ...(failed?.some(Boolean) ? { failed } : {}), ...(ratio !== undefined ? { ratio } : {}), ...(target ? { target } : {}), ...(ok !== undefined ? { ok } : {}) };
}

/** Rows of one scenario, one per declared metric, with the median of each subject's rounds. */
export function scenarioRows(scenario: Scenario, labels: readonly string[], records: readonly RunRecord[]): Row[] {
  const mine = records.filter((r) => r.scenario === scenario.id);
  return scenario.metrics.map((m) => {
    const values = labels.map((label) => {
      const runs = mine.filter((r) => r.subject === label);
      // A subject with any failed round gets no figure: a partly broken server must not get a median.
      if (runs.length === 0 || runs.some((r) => r.error)) return undefined;
      return median(runs.flatMap((r) => r.measurements.filter((x) => x.metric === m.metric).map((x) => x.value)));
    });
    const failed = labels.map((label) => mine.some((r) => r.subject === label && r.error));
    const row = makeRow(scenario.id, m, values, scenario.targets.find((t) => t.metric === m.metric), failed);
    const shaken = labels.map((label) => mine.some((r) => r.subject === label && disturbed(r)));
    return shaken.some(Boolean) ? { ...row, disturbed: shaken } : row;
  });
}

function formatValue(v: number | undefined): string {
  if (v === undefined || !Number.isFinite(v)) return '-';
  return v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2);
}

function formatTarget(t: Target | undefined): string {
  if (!t) return '';
  return `${t.op} ${Math.abs(t.ratio - 1 / 3) < 1e-12 ? '1/3' : String(t.ratio)}x`;
}

export function renderTable(rows: readonly Row[], labels: readonly string[]): string {
  const paired = labels.length === 2;
  const header = ['scenario', 'metric', ...labels, ...(paired ? ['ratio', 'target', 'ok'] : [])];
  const body = rows.map((r) => [
    r.scenario,
    `${r.metric} (${r.unit})`,
    ...r.values.map((v, i) => (r.failed?.[i] ? 'FAILED' : `${formatValue(v)}${r.disturbed?.[i] ? '*' : ''}`)),
    ...(paired ? [r.ratio === undefined ? '-' : `${r.ratio.toFixed(2)}x`, formatTarget(r.target), r.ok === undefined ? '' : r.ok ? 'ok' : 'MISS'] : []),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => (row[i] ?? '').length)));
  const line = (cells: string[]): string => `| ${cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ')} |`;
  const rule = `|${widths.map((w, i) => (i < 2 ? '-'.repeat(w + 2) : `${'-'.repeat(w + 1)}:`)).join('|')}|`;
  return [line(header), rule, ...body.map(line)].join('\n');
}

export function missedTargets(rows: readonly Row[], labels: readonly string[]): string[] {
  return rows
    .filter((r) => r.target && r.ok !== true)
    .map((r) =>
      r.ok === false
        ? `MISSED    ${r.scenario} / ${r.metric}: ${labels[0]} / ${labels[1]} = ${r.ratio?.toFixed(2)}x, target ${formatTarget(r.target)}`
        : `NO FIGURE ${r.scenario} / ${r.metric}: target ${formatTarget(r.target)} could not be judged (a registry failed or was skipped)`,
    );
}
