// The logical export of a metadata store: what backup writes and restore reads, and how a registry moves from one
// database to another. It is the same for every store (SQLite, PostgreSQL), so it names things as the ports do
// (repository names, digests, millisecond times) and never a table, a row id or a file of one database.
//
// JSON lines, one record each. The first line is the header, `{"format":"wharf-metadata","version":1,...}`; then
// the sections below, each record with its `type`, in this order (a section may be empty); the last line is
// `{"type":"end","counts":{...}}` with the number of records of each type, so a truncated export is told from a
// complete one. What the store derives from these (usage counters, totals, GC review queues) is not exported: the
// importing store rebuilds it as it would for the same content pushed anew (see importSnapshot in store.ts).
//
// Within a section the order is the content's own, so that a store's export does not depend on which database
// the content was imported into (the conformance suite compares them line for line): repositories by name; blobs
// by digest; links, manifests and tags by repository name, then digest (tags: name); uploads by id; events in the
// order they were recorded, each with its deliveries by endpoint; pending deletions by digest. Strings compare
// bytewise (SQLite's BINARY collation; PostgreSQL needs COLLATE "C"). A manifest's blobs and manifests are sorted.
import { z } from 'zod';

export const exportFormat = 'wharf-metadata';
export const exportVersion = 1;

const time = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);
const count = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);
// Shapes, not the registry's full grammar (metadata/ does not depend on oci/): enough to refuse a damaged file.
const digest = z.string().regex(/^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/, 'not a digest');
// No length limits: an import must take whatever the store it came from held (manifest size is configurable).
const repository = z.string().min(1);
const text = z.string();

export const exportHeader = z.strictObject({
  format: z.literal(exportFormat),
  version: z.number().int().positive(),
  /** ISO 8601: the instant the snapshot shows. */
  createdAt: z.string(),
  /** The store that wrote it (its `name`), for messages. */
  source: z.string(),
});

const records = {
  repository: z.strictObject({ type: z.literal('repository'), name: repository, createdAt: time }),
  blob: z.strictObject({ type: z.literal('blob'), digest, size: count, createdAt: time }),
  /** A blob linked to a repository (pushed to or mounted into it). */
  link: z.strictObject({ type: z.literal('link'), repository, digest, createdAt: time }),
  manifest: z.strictObject({
    type: z.literal('manifest'),
    repository,
    digest,
    mediaType: text,
    artifactType: text.nullable(),
    subject: digest.nullable(),
    annotations: z.record(z.string(), z.string()).nullable(),
    /** The exact bytes, base64. */
    body: z.base64(),
    createdAt: time,
    lastPulledAt: time.nullable(),
    /** What it references: blobs (config, layers) and, for an index, child manifests. */
    blobs: z.array(digest),
    manifests: z.array(digest),
  }),
  tag: z.strictObject({ type: z.literal('tag'), repository, name: text, digest, updatedAt: time, lastPulledAt: time.nullable() }),
  upload: z.strictObject({
    type: z.literal('upload'),
    id: text,
    repository,
    algorithm: text,
    size: count,
    createdAt: time,
    updatedAt: time,
  }),
  /** An outbox event with the deliveries still owed for it (delivered ones are gone from the outbox). */
  event: z.strictObject({
    type: z.literal('event'),
    repository,
    payload: text,
    createdAt: time,
    deliveries: z
      .array(
        z.strictObject({
          endpoint: text,
          status: z.enum(['pending', 'dead']),
          attempts: count,
          nextAttemptAt: time,
          lastError: text.nullable(),
        }),
      )
      .min(1),
  }),
  /** A blob whose record GC removed and whose bytes it may not have deleted yet. */
  pendingDeletion: z.strictObject({ type: z.literal('pending-deletion'), digest }),
} as const;

/** Section order in the file: what a record refers to comes before it. */
export const exportSections = ['repository', 'blob', 'link', 'manifest', 'tag', 'upload', 'event', 'pending-deletion'] as const;
export type ExportSection = (typeof exportSections)[number];
export type ExportCounts = Record<ExportSection, number>;

const record = z.discriminatedUnion('type', [
  records.repository,
  records.blob,
  records.link,
  records.manifest,
  records.tag,
  records.upload,
  records.event,
  records.pendingDeletion,
]);
const end = z.strictObject({
  type: z.literal('end'),
  counts: z.strictObject(Object.fromEntries(exportSections.map((s) => [s, count])) as Record<ExportSection, typeof count>),
});

export type ExportHeader = z.infer<typeof exportHeader>;
export type ExportRecord = z.infer<typeof record>;
export type ExportEnd = z.infer<typeof end>;
export type ManifestExport = z.infer<typeof records.manifest>;
export type EventExport = z.infer<typeof records.event>;

/** What a store's export hands out, line by line: the header, the records, the end. Each is one JSON line. */
export type ExportLine = ExportHeader | ExportRecord | ExportEnd;

/**
 * Where an export goes. Awaited before the store reads on, so a slow sink (a disk, a network) slows the export
 * instead of filling memory.
 */
export type ExportSink = (line: ExportLine) => Promise<void> | void;

/** The lines of an export (each a JSON text, without its newline), in order: a file read line by line. */
export type ExportSource = AsyncIterable<string> | Iterable<string>;

/** The export is damaged, truncated, or not an export: nothing was imported. */
export class ExportFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ExportFormatError';
  }
}

/** Import refused: the store already holds content, and an import never merges. */
export class StoreNotEmptyError extends Error {
  constructor(store: string) {
    super(`the ${store} metadata store is not empty: an export is only imported into an empty store (it never merges)`);
    this.name = 'StoreNotEmptyError';
  }
}

export function zeroCounts(): ExportCounts {
  return Object.fromEntries(exportSections.map((s) => [s, 0])) as ExportCounts;
}

/**
 * Writes what every store's export has around its records: the header, then the records (their order checked, so
 * a store that gets the order wrong fails its own export, not a later import), then the end with the counts.
 */
export class ExportWriter {
  private readonly counts = zeroCounts();
  private section = 0;

  constructor(private readonly sink: ExportSink) {}

  async header(source: string, at: Date): Promise<void> {
    await this.sink({ format: exportFormat, version: exportVersion, createdAt: at.toISOString(), source });
  }

  async write(r: ExportRecord): Promise<void> {
    const at = exportSections.indexOf(r.type);
    if (at < this.section) throw new Error(`export writes a ${r.type} after the ${exportSections[this.section]} section`);
    this.section = at;
    this.counts[r.type]++;
    await this.sink(r);
  }

  async end(): Promise<ExportCounts> {
    await this.sink({ type: 'end', counts: this.counts });
    return { ...this.counts };
  }
}

function describe(issues: z.ZodError['issues']): string {
  return issues
    .slice(0, 3)
    .map((i) => `${i.path.length ? `${i.path.join('.')}: ` : ''}${i.message}`)
    .join('; ');
}

function parseLine(text: string, line: number): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new ExportFormatError(`line ${line} of the metadata export is not JSON${text.length > 60 ? '' : `: ${JSON.stringify(text)}`}`);
  }
}

export interface NumberedRecord {
  readonly line: number;
  readonly record: ExportRecord;
}

/**
 * Reads an export, checking every line: the header first (a newer version is refused), each record's shape, the
 * section order, and the end record last with counts that match. Yields the records as it goes (memory stays
 * bounded); a problem throws an ExportFormatError naming the line, so a store importing inside one transaction
 * rolls everything back. The end is checked after the last record is yielded: an importer commits only once the
 * iteration finished without error.
 */
export async function* readExport(source: ExportSource): AsyncGenerator<NumberedRecord, ExportHeader & { counts: ExportCounts }> {
  let line = 0;
  let header: ExportHeader | null = null;
  let ended: ExportEnd | null = null;
  const counts = zeroCounts();
  let section = 0;
  for await (const raw of source) {
    line++;
    if (raw.trim() === '') throw new ExportFormatError(`line ${line} of the metadata export is empty`);
    const doc = parseLine(raw, line);
    if (ended) throw new ExportFormatError(`line ${line} of the metadata export comes after its end record`);
    if (!header) {
      const h = exportHeader.safeParse(doc);
      if (!h.success) {
        const format = (doc as { format?: unknown } | null)?.format;
        throw new ExportFormatError(
          format === exportFormat
            ? `line 1 of the metadata export is not a valid header: ${describe(h.error.issues)}`
            : 'this is not a Wharf metadata export (its first line is not a {"format":"wharf-metadata"} header)',
        );
      }
      if (h.data.version > exportVersion) {
        throw new ExportFormatError(`the metadata export has version ${h.data.version}; this Wharf reads version ${exportVersion} (use a newer Wharf)`);
      }
      header = h.data;
      continue;
    }
    if ((doc as { type?: unknown } | null)?.type === 'end') {
      const e = end.safeParse(doc);
      if (!e.success) throw new ExportFormatError(`line ${line} of the metadata export: bad end record: ${describe(e.error.issues)}`);
      const wrong = exportSections.filter((s) => e.data.counts[s] !== counts[s]);
      if (wrong.length > 0) {
        throw new ExportFormatError(
          `the metadata export is damaged: its end record (line ${line}) counts ` +
            wrong.map((s) => `${e.data.counts[s]} ${s} records where ${counts[s]} were read`).join(', '),
        );
      }
      ended = e.data;
      continue;
    }
    const r = record.safeParse(doc);
    if (!r.success) throw new ExportFormatError(`line ${line} of the metadata export is not a valid record: ${describe(r.error.issues)}`);
    const at = exportSections.indexOf(r.data.type);
    if (at < section) {
      throw new ExportFormatError(`line ${line} of the metadata export: a ${r.data.type} record after the ${exportSections[section]} section`);
    }
    section = at;
    counts[r.data.type]++;
    yield { line, record: r.data };
  }
  if (!header) throw new ExportFormatError('the metadata export is empty');
  if (!ended) throw new ExportFormatError(`the metadata export is truncated: it stops after line ${line} without its end record`);
  return { ...header, counts };
}
