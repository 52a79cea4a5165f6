import { parseArgs } from 'node:util';
import { dataOptions, loadExistingRegistry } from '../config-options.js';
import { parseDuration } from '../../config-fields/duration.js';
import { createLogger } from '../../log/logger.js';
import { openRegistry } from '../../registry/registry.js';
import { formatBytes } from '../progress.js';

export const gcUsage = `wharf gc [--dry-run] [--delete-untagged] [--grace DURATION] [--config FILE] [--data-dir DIR]
                                 Retention rules, then online garbage collection; safe while the registry serves`;

export async function gcCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      ...dataOptions,
      'dry-run': { type: 'boolean', default: false },
      'delete-untagged': { type: 'boolean' },
      grace: { type: 'string' },
    },
  });
  const config = await loadExistingRegistry('gc', values);
  const grace = values.grace === undefined ? config.gc.gracePeriod : parseDuration(values.grace);
  if (grace === null) {
    process.stderr.write(`--grace: expected a duration such as 30m or 1h, got ${values.grace}\n`);
    return 2;
  }
  const registry = openRegistry({ ...config, log: { ...config.log, level: 'warn' } }, createLogger({ ...config.log, level: 'warn' }));
  const tty = process.stderr.isTTY;
  try {
    const { retention, gc: summary } = await registry.collect({
      deleteUntagged: values['delete-untagged'] ?? config.gc.deleteUntagged,
      dryRun: values['dry-run'],
      gracePeriod: grace,
      trigger: 'cli',
      onProgress: (p) => {
        const line = `gc: ${p.phase}: ${p.reviewed} reviewed`;
        process.stderr.write(tty ? `\r${line}\u001b[K` : `${line}\n`);
      },
    });
    if (tty) process.stderr.write('\n');
    for (const a of retention) {
      process.stdout.write(`retention: ${values['dry-run'] ? 'would delete' : 'deleted'} ${a.repository}${a.tag ? `:${a.tag}` : `@${a.digest}`} (${a.reason})\n`);
    }
    const verb = summary.dryRun ? 'would delete' : 'deleted';
    process.stdout.write(
      `${summary.dryRun ? 'dry run: ' : ''}${verb} ${summary.manifestsDeleted} manifests and ${summary.blobsDeleted} blobs, ` +
        `${summary.dryRun ? 'freeing' : 'freed'} ${formatBytes(summary.bytesFreed)} in ${(summary.durationMs / 1000).toFixed(2)} s ` +
        `(${summary.reviewed} reviewed, ${summary.deferred} too young, ${summary.busy} busy)\n`,
    );
    if (summary.dryRun && summary.manifestsDeleted > 0) {
      process.stdout.write('note: blobs that only those manifests use are counted by the pass that deletes the manifests\n');
    }
    return 0;
  } finally {
    await registry.close();
  }
}
