import { parseArgs } from 'node:util';
import { dataOptions, loadCommandConfig } from '../config-options.js';
import { BackupError } from '../../backup/layout.js';
import { runRestore, type RestoreSummary } from '../../backup/restore.js';
import { formatBytes, formatDuration, Progress } from '../progress.js';

export const restoreUsage = `wharf restore SRC [--snapshot NAME] [--json] [--config FILE] [--data-dir DIR]
                                 Restore a backup snapshot (default: the latest) into an empty data dir`;

export function formatRestoreSummary(s: RestoreSummary): string {
  return (
    `restored snapshot ${s.snapshot} (taken ${s.createdAt}) into ${s.dataDir}: ${s.repositories} repositories, ` +
    `${s.manifests} manifests, ${s.tags} tags, ${s.blobs} blobs (${formatBytes(s.blobBytes)})\n` +
    `copied ${s.restored} blobs (${formatBytes(s.restoredBytes)})${s.resumed ? `, ${s.resumed} already restored by the interrupted run` : ''} ` +
    `in ${formatDuration(s.durationMs)}\n`
  );
}

export async function restoreCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      ...dataOptions,
      snapshot: { type: 'string' },
      json: { type: 'boolean', default: false },
    },
  });
  if (positionals.length !== 1) {
    process.stderr.write(`usage: ${restoreUsage}\n`);
    return 2;
  }
  const config = await loadCommandConfig(values);
  const progress = new Progress({ label: 'restore', unit: 'blobs' });
  try {
    const summary = await runRestore({
      source: positionals[0]!,
      snapshot: values.snapshot,
      config,
      onProgress: (p) => progress.update({ done: p.blobsDone, total: p.blobsTotal, bytes: p.bytesDone, totalBytes: p.bytesTotal }),
      onNotice: (m) => progress.log(`restore: ${m}`),
    });
    progress.done();
    process.stdout.write(values.json ? `${JSON.stringify(summary)}\n` : formatRestoreSummary(summary));
    return 0;
  } catch (err) {
    progress.done();
    if (err instanceof BackupError) {
      process.stderr.write(`wharf restore: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
}
