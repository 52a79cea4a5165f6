import { parseArgs } from 'node:util';
import { dataOptions, loadCommandConfig } from '../config-options.js';
import { runBackup, type BackupSummary } from '../../backup/backup.js';
import { BackupError } from '../../backup/layout.js';
import { describeMetadataStore, metadataStoreExists } from '../../metadata/open.js';
import { createDriver, createMetadataStore } from '../../registry/registry.js';
import { formatBytes, formatDuration, Progress } from '../progress.js';

export const backupUsage = `wharf backup DEST [--keep N] [--verify] [--json] [--config FILE] [--data-dir DIR]
                                 Consistent, incremental snapshot of the registry (metadata + blobs) into DEST,
                                 safe while it serves; --keep N prunes older snapshots`;

export function formatBackupSummary(s: BackupSummary): string {
  const lines = [
    `snapshot ${s.snapshot}: ${s.repositories} repositories, ${s.manifests} manifests, ${s.tags} tags, ${s.blobs} blobs (${formatBytes(s.blobBytes)})`,
    `copied ${s.copied} blobs (${formatBytes(s.copiedBytes)}), ${s.skipped} already in the backup (${formatBytes(s.skippedBytes)})` +
      `${s.replaced ? `, ${s.replaced} replaced (did not match their digest)` : ''} in ${formatDuration(s.durationMs)}` +
      `${s.attempts > 1 ? ` (${s.attempts} attempts)` : ''}`,
  ];
  if (s.pruned) {
    lines.push(
      `pruned ${s.pruned.snapshots.length} snapshot(s)${s.pruned.snapshots.length ? ` (${s.pruned.snapshots.join(', ')})` : ''} ` +
        `and ${s.pruned.blobs} blobs (${formatBytes(s.pruned.bytes)})`,
    );
  }
  lines.push(`written to ${s.path}`);
  return `${lines.join('\n')}\n`;
}

export async function backupCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      ...dataOptions,
      keep: { type: 'string' },
      verify: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
    },
  });
  if (positionals.length !== 1) {
    process.stderr.write(`usage: ${backupUsage}\n`);
    return 2;
  }
  let keep: number | undefined;
  if (values.keep !== undefined) {
    keep = Number(values.keep);
    if (!/^\d+$/.test(values.keep) || keep < 1) {
      process.stderr.write(`--keep: expected a positive number of snapshots, got ${values.keep}\n`);
      return 2;
    }
  }
  const config = await loadCommandConfig(values);
  if (!(await metadataStoreExists(config))) {
    process.stderr.write(`wharf backup: no registry at ${config.storage.dataDir} (${describeMetadataStore(config)} does not exist); check --data-dir / --config\n`);
    return 1;
  }
  const metadata = createMetadataStore(config);
  const progress = new Progress({ label: 'backup', unit: 'blobs' });
  try {
    const summary = await runBackup({
      dest: positionals[0]!,
      metadata,
      driver: createDriver(config),
      keep,
      verifyExisting: values.verify,
      onProgress: (p) =>
        progress.update({
          done: p.blobsDone,
          total: p.blobsTotal,
          bytes: p.bytesDone,
          totalBytes: p.bytesTotal,
          detail: p.phase === 'blobs' ? undefined : p.phase,
        }),
      onNotice: (m) => progress.log(`backup: ${m}`),
    });
    progress.done();
    process.stdout.write(values.json ? `${JSON.stringify(summary)}\n` : formatBackupSummary(summary));
    return 0;
  } catch (err) {
    progress.done();
    if (err instanceof BackupError) {
      process.stderr.write(`wharf backup: ${err.message}\n`);
      return 1;
    }
    throw err;
  } finally {
    await metadata.close();
  }
}
