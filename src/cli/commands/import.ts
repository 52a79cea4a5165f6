import { parseArgs } from 'node:util';
import { dataOptions, loadCommandConfig } from '../config-options.js';
import { BackupError } from '../../backup/layout.js';
import { DistributionLayoutError, DistributionStorage } from '../../importer/distribution.js';
import { runImport, type ImportSummary, type RepositoryReport } from '../../importer/importer.js';
import { createLogger } from '../../log/logger.js';
import { metadataStoreExists } from '../../metadata/open.js';
import { openRegistry, type Registry } from '../../registry/registry.js';
import { formatBytes, formatDuration, Progress } from '../progress.js';

export const importUsage = `wharf import distribution PATH [--dry-run] [--full] [--overwrite-tags] [--json] [--config FILE] [--data-dir DIR]
                                 Import every repository, tag, manifest and blob of a Distribution (registry:2)
                                 filesystem storage directory (e.g. /var/lib/registry); resumable: re-run it`;

function repositoryLine(r: RepositoryReport, dryRun: boolean): string {
  const would = dryRun ? 'new' : 'imported';
  const parts = [
    `blobs ${r.blobs.imported} ${would} (${formatBytes(r.blobs.bytes)}), ${r.blobs.linked} linked, ${r.blobs.present} present`,
    `manifests ${r.manifests.imported} ${would}, ${r.manifests.present} present${r.manifests.schema1 ? `, ${r.manifests.schema1} schema 1 (skipped)` : ''}`,
    `tags ${r.tags.set} ${dryRun ? 'to set' : 'set'}${r.tags.moved ? ` (${r.tags.moved} moved)` : ''}, ${r.tags.present} present${r.tags.schema1 ? `, ${r.tags.schema1} on schema 1 (skipped)` : ''}`,
  ];
  if (r.blobs.danglingLinks) parts.push(`${r.blobs.danglingLinks} dangling links ignored`);
  if (r.conflicts.length) parts.push(`${r.conflicts.length} tags differ in Wharf (kept)`);
  const status = r.status === 'imported' ? '' : ` [${r.status}]`;
  return `${r.name}${status}: ${r.status === 'unchanged' ? 'unchanged since the last import' : parts.join('; ')}`;
}

export function formatImportSummary(s: ImportSummary): string {
  const c = s.counts;
  const lines: string[] = [];
  if (s.dryRun) for (const r of s.repositories) lines.push(repositoryLine(r, true));
  const verb = s.dryRun ? 'would import' : 'imported';
  lines.push(
    `${s.dryRun ? 'dry run: ' : ''}${c.repositories} repositories from ${s.source}` +
      `${c.repositoriesUnchanged ? ` (${c.repositoriesUnchanged} unchanged since the last import)` : ''}`,
    `blobs: ${verb} ${c.blobsImported} (${formatBytes(c.bytesImported)}), linked ${c.blobsLinked} already in Wharf, ${c.blobsPresent} already present`,
    `manifests: ${verb} ${c.manifestsImported}, ${c.manifestsPresent} already present`,
    `tags: ${s.dryRun ? 'would set' : 'set'} ${c.tagsSet}${c.tagsMoved ? ` (${c.tagsMoved} pointed elsewhere in Wharf)` : ''}, ${c.tagsPresent} already present`,
  );
  if (c.schema1Manifests || c.schema1Tags) {
    lines.push(`schema 1: ${c.schema1Manifests} manifests and ${c.schema1Tags} tags not imported (Docker schema 1 is not supported; convert them, e.g. by pulling and pushing with a current client)`);
  }
  if (s.conflicts.length) {
    lines.push(`${s.conflicts.length} tag(s) left as Wharf has them: pushed to Wharf directly, they differ from the source (--overwrite-tags moves them):`);
    for (const t of s.conflicts.slice(0, 20)) lines.push(`  - ${t}`);
    if (s.conflicts.length > 20) lines.push(`  … and ${s.conflicts.length - 20} more (--json lists all)`);
  }
  if (c.danglingLinks) lines.push(`ignored ${c.danglingLinks} layer links whose data was deleted (by registry garbage-collect) and that no manifest uses`);
  if (s.problems.length) {
    lines.push(`${s.problems.length} problem(s)${c.repositoriesIncomplete ? ` in ${c.repositoriesIncomplete} repositories` : ''}:`);
    for (const p of s.problems.slice(0, 50)) lines.push(`  - ${p}`);
    if (s.problems.length > 50) lines.push(`  … and ${s.problems.length - 50} more (--json lists all)`);
  }
  lines.push(`${s.dryRun ? 'checked' : 'done'} in ${formatDuration(s.durationMs)}${s.statePath ? `; state in ${s.statePath}` : ''}`);
  return `${lines.join('\n')}\n`;
}

export async function importCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      ...dataOptions,
      'dry-run': { type: 'boolean', default: false },
      full: { type: 'boolean', default: false },
      'overwrite-tags': { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      concurrency: { type: 'string' },
    },
  });
  if (positionals[0] !== 'distribution' || positionals.length !== 2) {
    process.stderr.write(`usage: ${importUsage}\n`);
    return 2;
  }
  const concurrency = values.concurrency === undefined ? 4 : Number(values.concurrency);
  if (!Number.isSafeInteger(concurrency) || concurrency < 1 || concurrency > 64) {
    process.stderr.write(`--concurrency: expected 1-64, got ${values.concurrency}\n`);
    return 2;
  }
  const pause = process.env.WHARF_IMPORT_PAUSE_AFTER_BLOBS;
  const loaded = await loadCommandConfig(values);
  // No webhook events for imported content: the import replays history, it is not a stream of new pushes.
  const config = { ...loaded, webhooks: { ...loaded.webhooks, endpoints: [] }, log: { ...loaded.log, level: 'warn' as const } };
  let storage: DistributionStorage;
  try {
    storage = await DistributionStorage.open(positionals[1]!);
  } catch (err) {
    if (!(err instanceof DistributionLayoutError)) throw err;
    process.stderr.write(`wharf import: ${err.message}\n`);
    return 1;
  }
  const dryRun = values['dry-run'];
  // A dry run must not create a registry: it compares with the existing one, if any.
  const hasRegistry = await metadataStoreExists(config);
  const registry: Registry | null = !dryRun || hasRegistry ? openRegistry(config, createLogger(config.log)) : null;
  const progress = new Progress({ label: dryRun ? 'import (dry run)' : 'import', unit: 'blobs' });
  try {
    const summary = await runImport({
      storage,
      registry,
      dryRun,
      stateDir: config.storage.dataDir,
      full: values.full,
      overwriteTags: values['overwrite-tags'],
      concurrency,
      pauseAfterBlobs: pause ? Number(pause) : undefined,
      onProgress: (p) =>
        progress.update({
          done: p.blobsDone,
          total: p.blobsTotal,
          bytes: p.bytesDone,
          totalBytes: p.bytesTotal,
          detail: p.repository ? `repo ${Math.min(p.repositoriesDone + 1, p.repositoriesTotal)}/${p.repositoriesTotal} ${p.repository}` : undefined,
        }),
      onNotice: (m) => progress.log(`import: ${m}`),
    });
    progress.done();
    process.stdout.write(values.json ? `${JSON.stringify(summary)}\n` : formatImportSummary(summary));
    return summary.problems.length > 0 ? 1 : 0;
  } catch (err) {
    if (!(err instanceof BackupError)) throw err;
    progress.done();
    process.stderr.write(`wharf import: ${err.message}\n`);
    return 1;
  } finally {
    progress.done();
    await registry?.close();
  }
}
