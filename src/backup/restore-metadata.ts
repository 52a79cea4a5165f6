// A snapshot's metadata on its way into the configured store: read and checked in full before any blob is copied
// (a damaged snapshot fails in seconds, not after hours of copying), imported once the blobs are in.
import { createReadStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { ExportFormatError } from '../metadata/export-format.js';
import { openLegacySqliteBackup } from '../metadata/open.js';
import { copyVerified, DigestMismatchError, isMissing } from './files.js';
import { BackupError, isLegacyMetadata, type SnapshotManifest } from './layout.js';
import { metadataLines, scanMetadataFile, writeMetadataFile, type MetadataContents } from './metadata-file.js';

export interface SnapshotMetadata {
  readonly contents: MetadataContents;
  /** The export's lines, for the store's import (checked again on the way: the import refuses a damaged one). */
  lines(): AsyncIterable<string>;
  /** Explains a failure of reading the export as damage to the snapshot; other failures are returned as they are. */
  explain(err: unknown): unknown;
  /** Removes the scratch files. */
  cleanup(): Promise<void>;
}

function damage(name: string, file: string, err: unknown): unknown {
  const why =
    err instanceof DigestMismatchError
      ? `${file} does not match the checksum in its manifest.json`
      : isMissing(err)
        ? `${file} is missing`
        : err instanceof ExportFormatError
          ? `${file}: ${err.message}`
          : String((err as NodeJS.ErrnoException)?.code).startsWith('Z_')
            ? `${file} is not a whole gzip file (${(err as Error).message})`
            : null;
  return why === null ? err : new BackupError(`snapshot ${name} is damaged: ${why}`);
}

/**
 * The snapshot's metadata. Format 2 holds the logical export, read in place. Format 1 (before the export existed)
 * holds a copy of the SQLite database: it is copied to `scratchDir`, checked, opened, and exported there, so that
 * it too goes into the configured store through that store's import, whichever database it is.
 */
export async function openSnapshotMetadata(name: string, dir: string, manifest: SnapshotManifest, scratchDir: string): Promise<SnapshotMetadata> {
  const meta = manifest.metadata;
  const scratchExport = join(scratchDir, '.restore-metadata.jsonl.gz');
  const scratchDb = join(scratchDir, '.restore-metadata.db');
  const cleanup = async () => {
    for (const p of [scratchExport, scratchDb, `${scratchDb}-wal`, `${scratchDb}-shm`]) await rm(p, { force: true });
  };
  await cleanup(); // what an interrupted restore left
  if (!isLegacyMetadata(meta)) {
    const file = join(dir, meta.file);
    const expected = { sha256: meta.sha256, size: meta.size };
    const contents = await scanMetadataFile(file, expected).catch((err: unknown) => {
      throw damage(name, meta.file, err);
    });
    return { contents, lines: () => metadataLines(file, expected), explain: (err) => damage(name, meta.file, err), cleanup };
  }
  try {
    await copyVerified(createReadStream(join(dir, meta.file)), scratchDb, meta.sha256, meta.size);
    const legacy = openLegacySqliteBackup(scratchDb);
    let contents: MetadataContents;
    try {
      contents = await writeMetadataFile(scratchExport, (sink) => legacy.exportSnapshot(sink));
    } finally {
      await legacy.close();
    }
    return { contents, lines: () => metadataLines(scratchExport), explain: (err) => damage(name, meta.file, err), cleanup };
  } catch (err) {
    await cleanup();
    throw damage(name, meta.file, err);
  }
}
