// The last garbage-collection pass, kept beside the data so `wharf status` can say when space was last reclaimed
// and how much, whether the pass ran on the server's schedule or from `wharf gc`. One small JSON file replaced
// atomically: losing it loses a report, never data, so it stays out of the metadata store's schema.
import { open, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import type { GcSummary } from '../gc/collector.js';

export interface GcRecord {
  /** ISO-8601 time the pass finished. */
  readonly finishedAt: string;
  readonly trigger: 'schedule' | 'cli';
  readonly durationMs: number;
  readonly manifestsDeleted: number;
  readonly blobsDeleted: number;
  readonly bytesFreed: number;
}

const fileName = 'gc-last.json';

export async function recordGcRun(dataDir: string, summary: GcSummary, trigger: GcRecord['trigger'], now = new Date()): Promise<void> {
  if (summary.dryRun) return;
  const record: GcRecord = {
    finishedAt: now.toISOString(),
    trigger,
    durationMs: Math.round(summary.durationMs),
    manifestsDeleted: summary.manifestsDeleted,
    blobsDeleted: summary.blobsDeleted,
    bytesFreed: summary.bytesFreed,
  };
  const path = join(dataDir, fileName);
  const temp = `${path}.${process.pid}.tmp`;
  const file = await open(temp, 'w', 0o644);
  try {
    await file.writeFile(`${JSON.stringify(record)}\n`);
  } finally {
    await file.close();
  }
  await rename(temp, path);
}

/** null when no pass has finished since the data directory was created (or the file is unreadable). */
export async function readLastGcRun(dataDir: string): Promise<GcRecord | null> {
  try {
    const value = JSON.parse(await readFile(join(dataDir, fileName), 'utf8')) as GcRecord;
    return typeof value.finishedAt === 'string' ? value : null;
  } catch {
    return null;
  }
}
