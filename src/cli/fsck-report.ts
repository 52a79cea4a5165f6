// How fsck reports, for people (text) and programs (JSON lines).
import { formatBytes, progressBar } from './progress.js';
import type { FsckReport } from '../fsck/fsck.js';
import { problemKinds, type FsckProblem, type FsckProgress } from '../fsck/types.js';

const pad = ' '.repeat(15);

/** A problem as a few lines of text: what, what it breaks, and what --repair did. */
export function formatProblem(p: FsckProblem): string {
  const what = p.digest ?? p.key ?? '(unknown)';
  const size = p.size === null ? '' : ` (${formatBytes(p.size)})`;
  const lines = [`${p.kind.padEnd(14)} ${what}${size}: ${p.detail}`];
  if (p.actualDigest) lines.push(`${pad}stored bytes hash to ${p.actualDigest}`);
  if (p.digest && p.key && p.kind === 'orphan') lines.push(`${pad}file: ${p.key}`);
  if (p.manifests.length > 0) lines.push(`${pad}breaks: ${p.manifests.join(', ')}`);
  if (p.repair) lines.push(`${pad}${p.repair.action === 'skipped' ? 'not repaired' : p.repair.action}: ${p.repair.detail}`);
  return `${lines.join('\n')}\n`;
}

export function problemJson(p: FsckProblem): string {
  return `${JSON.stringify(p)}\n`;
}

export function formatSummary(r: FsckReport): string {
  const found = problemKinds.filter((k) => r.counts[k] > 0).map((k) => `${r.counts[k]} ${k}`);
  const head =
    `checked ${r.blobs} blobs (${formatBytes(r.bytes)} read), ${r.files} files and ${r.manifests} manifests ` +
    `in ${(r.durationMs / 1000).toFixed(2)} s: ${found.length ? found.join(', ') : 'no problems'}\n`;
  if (!r.repair || r.problems.length === 0) return head;
  const actions = new Map<string, number>();
  for (const p of r.problems) if (p.repair) actions.set(p.repair.action, (actions.get(p.repair.action) ?? 0) + 1);
  return `${head}repair: ${[...actions].map(([a, n]) => `${n} ${a}`).join(', ')}\n`;
}

export function summaryJson(r: FsckReport): string {
  const checked = { blobs: r.blobs, bytes: r.bytes, files: r.files, manifests: r.manifests };
  return `${JSON.stringify({ kind: 'summary', repair: r.repair, checked, counts: r.counts, problems: r.problems.length, durationMs: r.durationMs })}\n`;
}

/** What the operator can do next, after a run that found problems. */
export function hints(r: FsckReport): string[] {
  const out: string[] = [];
  const repairable = r.problems.filter(
    (p) => p.kind === 'corrupt' || p.kind === 'size-mismatch' || (p.kind === 'missing' && p.recorded) || (p.kind === 'orphan' && p.actualDigest),
  );
  if (!r.repair && repairable.length > 0) {
    out.push(`${repairable.length} of these can be repaired: \`wharf fsck --repair\` quarantines bad bytes, forgets records without bytes and re-links blobs where manifests need them`);
  }
  const gone = r.problems.some(
    (p) => (p.kind === 'missing' && !p.recorded) || (p.recorded && (p.repair?.action === 'quarantined' || p.repair?.action === 'record-removed')),
  );
  if (gone) {
    out.push('a blob the registry no longer has comes back when a client pushes it again (pushing the image does); or delete the manifests that need it');
  }
  if (r.problems.some((p) => p.kind === 'orphan' && !p.actualDigest)) {
    out.push('orphans are left alone: a push of the same digest adopts their bytes; delete the files by hand if they are not wanted');
  }
  return out;
}

/** One line of progress: a bar while blobs are checked (by bytes when known), counts in the later phases. */
export function progressLine(p: FsckProgress, barWidth = 24): string {
  const seconds = Math.max(p.elapsedMs / 1000, 0.001);
  const rate = `${formatBytes(p.bytes / seconds)}/s`;
  if (p.phase === 'blobs') {
    const fraction = p.bytesTotal > 0 ? p.bytesDone / p.bytesTotal : p.blobsTotal > 0 ? p.blobs / p.blobsTotal : 1;
    return `fsck ${progressBar(fraction, barWidth)}  ${p.blobs}/${p.blobsTotal} blobs  ${formatBytes(p.bytesDone)}/${formatBytes(p.bytesTotal)}  ${rate}`;
  }
  if (p.phase === 'storage') return `fsck: looking for orphans: ${p.files} files listed  ${formatBytes(p.bytes)} read  ${rate}`;
  return `fsck: checking references: ${p.manifests} manifests`;
}
