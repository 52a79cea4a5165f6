// The metadata of a snapshot: the store's logical export (src/metadata/export-format.ts) as a gzipped JSON-lines
// file. Written once by backup, read by restore; nothing here knows which database wrote it or will read it.
import { once } from 'node:events';
import { createReadStream, createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { StringDecoder } from 'node:string_decoder';
import { createGunzip, createGzip } from 'node:zlib';
import { readExport, type ExportCounts, type ExportHeader, type ExportLine, type ExportSink } from '../metadata/export-format.js';
import { DigestHasher } from '../oci/digest-stream.js';
import { checkDigest, fsyncFile, tempName } from './files.js';
import type { SnapshotBlob } from './layout.js';

/** What backup and restore report about a snapshot's metadata, gathered while it streams past. */
export interface MetadataContents {
  /** From the export's header: the instant it shows, and the store that wrote it. */
  readonly createdAt: string;
  readonly source: string;
  readonly blobs: SnapshotBlob[];
  readonly repositories: number;
  readonly manifests: number;
  readonly tags: number;
  readonly blobBytes: number;
}

function contentsOf(header: ExportHeader, counts: ExportCounts, blobs: SnapshotBlob[]): MetadataContents {
  return {
    createdAt: header.createdAt,
    source: header.source,
    blobs,
    repositories: counts.repository,
    manifests: counts.manifest,
    tags: counts.tag,
    blobBytes: blobs.reduce((n, b) => n + b.size, 0),
  };
}

/** Lines of a gzipped text file as they are decompressed; a damaged file fails the iteration. */
async function* gzipLines(stream: Readable): AsyncGenerator<string> {
  const decoder = new StringDecoder('utf8');
  // A long line (a large manifest) arrives in many chunks: kept as pieces and joined once, never re-scanned.
  let pieces: string[] = [];
  for await (const chunk of stream.pipe(createGunzip()) as AsyncIterable<Buffer>) {
    const text = decoder.write(chunk);
    let start = 0;
    for (let nl = text.indexOf('\n'); nl !== -1; nl = text.indexOf('\n', start)) {
      pieces.push(text.slice(start, nl));
      yield pieces.join('');
      pieces = [];
      start = nl + 1;
    }
    if (start < text.length) pieces.push(text.slice(start));
  }
  const rest = pieces.join('') + decoder.end();
  if (rest !== '') yield rest;
}

/**
 * The lines of a metadata file. With `expected` (the checksum manifest.json records), the file's bytes are hashed
 * on the way and the iteration fails at its end when they do not match: an importer reading it has not committed.
 */
export async function* metadataLines(file: string, expected?: { sha256: string; size: number }): AsyncGenerator<string> {
  const source = createReadStream(file, { highWaterMark: 1 << 20 });
  const hasher = new DigestHasher('sha256');
  try {
    yield* gzipLines(expected ? hasher.through(source) : source);
  } finally {
    source.destroy();
  }
  if (expected) checkDigest(expected.sha256, expected.size, hasher.result());
}

/**
 * Writes an export to `file` (through a temp name, fsynced, renamed), handing `exporter` a sink that gzips each
 * line with backpressure, and returns what the export holds.
 */
export async function writeMetadataFile(file: string, exporter: (sink: ExportSink) => Promise<unknown>): Promise<MetadataContents> {
  const tmp = tempName(file);
  const gzip = createGzip();
  const written = pipeline(gzip, createWriteStream(tmp));
  written.catch(() => undefined); // awaited below; a failure also ends the sink's waits
  const blobs: SnapshotBlob[] = [];
  const seen: { header?: ExportHeader; counts?: ExportCounts } = {};
  let batch: string[] = [];
  let batchBytes = 0;
  const flush = async () => {
    if (batch.length === 0) return;
    const chunk = batch.join('');
    batch = [];
    batchBytes = 0;
    if (!gzip.write(chunk)) await Promise.race([once(gzip, 'drain'), written]);
  };
  const sink = async (line: ExportLine) => {
    if (!('type' in line)) seen.header = line;
    else if (line.type === 'blob') blobs.push({ digest: line.digest, size: line.size });
    else if (line.type === 'end') seen.counts = line.counts;
    const text = `${JSON.stringify(line)}\n`;
    batch.push(text);
    batchBytes += text.length;
    if (batchBytes >= 1 << 16) await flush();
  };
  try {
    await exporter(sink);
    await flush();
    gzip.end();
    await written;
    if (!seen.header || !seen.counts) throw new Error('the metadata export lacks its header or its end record');
    await fsyncFile(tmp);
    await rename(tmp, file);
  } catch (err) {
    gzip.destroy();
    await written.catch(() => undefined);
    await rm(tmp, { force: true });
    throw err;
  }
  return contentsOf(seen.header, seen.counts, blobs);
}

/** Reads and checks a whole metadata file (every line, as an import would), returning what it holds. */
export async function scanMetadataFile(file: string, expected?: { sha256: string; size: number }): Promise<MetadataContents> {
  const blobs: SnapshotBlob[] = [];
  const records = readExport(metadataLines(file, expected));
  for (;;) {
    const next = await records.next();
    if (next.done) return contentsOf(next.value, next.value.counts, blobs);
    const r = next.value.record;
    if (r.type === 'blob') blobs.push({ digest: r.digest, size: r.size });
  }
}

/** Which of `digests` some manifest of the metadata file references. */
export async function referencedBlobs(file: string, digests: readonly string[]): Promise<string[]> {
  const wanted = new Set(digests);
  const found = new Set<string>();
  for await (const { record } of readExport(metadataLines(file))) {
    if (record.type === 'manifest') for (const d of record.blobs) if (wanted.has(d)) found.add(d);
  }
  return [...found];
}

/**
 * Rewrites the metadata file without the records of `digests` (the blobs and their links): the state just after
 * GC removed them, as GC does. The end record's counts are lowered by what was left out.
 */
export async function dropBlobRecords(file: string, digests: readonly string[]): Promise<MetadataContents> {
  const drop = new Set(digests);
  const rewritten = `${file}.rewrite`;
  const contents = await writeMetadataFile(rewritten, async (sink) => {
    const dropped = { blob: 0, link: 0 };
    for await (const text of metadataLines(file)) {
      const line = JSON.parse(text) as ExportLine;
      if ('type' in line && (line.type === 'blob' || line.type === 'link') && drop.has(line.digest)) {
        dropped[line.type]++;
        continue;
      }
      if ('type' in line && line.type === 'end') {
        await sink({ ...line, counts: { ...line.counts, blob: line.counts.blob - dropped.blob, link: line.counts.link - dropped.link } });
      } else {
        await sink(line);
      }
    }
  });
  await rename(rewritten, file);
  return contents;
}
