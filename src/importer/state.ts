// The import's progress record, kept in the Wharf data dir (import-distribution.json): which repositories were
// imported completely and what they looked like then (a fingerprint of their links and tags), plus running totals.
// Correctness never depends on it: every step is idempotent by digest, so a lost or stale state file only costs
// time. It lets a re-run skip unchanged repositories without reading their manifests again.
import { readFile, rename, writeFile } from 'node:fs/promises';
import { writeFileAtomic } from '../backup/files.js';

export const stateFileName = 'import-distribution.json';

export interface ImportCounters {
  blobsImported: number;
  bytesImported: number;
  blobsLinked: number;
  blobsPresent: number;
  manifestsImported: number;
  manifestsPresent: number;
  tagsSet: number;
  tagsPresent: number;
}

export function emptyCounters(): ImportCounters {
  return { blobsImported: 0, bytesImported: 0, blobsLinked: 0, blobsPresent: 0, manifestsImported: 0, manifestsPresent: 0, tagsSet: 0, tagsPresent: 0 };
}

export interface ImportState {
  readonly format: 1;
  /** The Distribution v2 directory (realpath). */
  readonly source: string;
  readonly startedAt: string;
  updatedAt: string;
  /** Set when a run ended with every repository imported. */
  finishedAt: string | null;
  runs: number;
  /** The repository being imported when the state was written. */
  current: string | null;
  /** repository -> fingerprint of its Distribution directory when it was completely imported. */
  completed: Record<string, string>;
  /**
   * repository -> when the import last finished setting its tags (ms since epoch). A Wharf tag updated later than
   * that (or in a repository never imported) was pushed to Wharf directly, and a re-run does not move it.
   */
  tagsAt: Record<string, number>;
  /** Totals over all runs. */
  totals: ImportCounters;
}

export function newState(source: string): ImportState {
  const now = new Date().toISOString();
  return { format: 1, source, startedAt: now, updatedAt: now, finishedAt: null, runs: 0, current: null, completed: {}, tagsAt: {}, totals: emptyCounters() };
}

/** The state for this source, or null (no file, another source, unreadable: the import starts over). */
export async function loadState(path: string, source: string): Promise<{ state: ImportState | null; reason?: string }> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { state: null };
    throw err;
  }
  try {
    const state = JSON.parse(text) as ImportState;
    if (state.format !== 1 || typeof state.completed !== 'object' || state.completed === null) return { state: null, reason: `${path} is not an import state file` };
    if (state.source !== source) return { state: null, reason: `${path} records an import from ${state.source}` };
    return { state: { ...state, tagsAt: state.tagsAt ?? {}, totals: { ...emptyCounters(), ...state.totals } } };
  } catch {
    return { state: null, reason: `${path} is unreadable` };
  }
}

export async function saveState(path: string, state: ImportState): Promise<void> {
  state.updatedAt = new Date().toISOString();
  await writeFileAtomic(path, `${JSON.stringify(state, null, 1)}\n`);
}

export const inflightFileName = 'import-distribution.inflight.json';
export const lockFileName = 'import-distribution.lock';

export interface InflightUpload {
  readonly id: string;
  readonly repository: string;
  readonly digest: string;
}

/**
 * The upload sessions the import has open, so that a run after a crash can clean up those of the dead one: its
 * staged bytes, its session and, if it died while committing, the blob lease it held (which would otherwise make
 * the re-run wait for the lease to expire before it can import that blob). Rewritten on every change, without
 * fsync: losing it after a power cut only costs that wait and leaves the sessions to the stale-upload purge.
 */
export class InflightJournal {
  private readonly open = new Map<string, InflightUpload>();
  private writing: Promise<void> = Promise.resolve();

  constructor(private readonly path: string) {}

  /** The sessions a previous run left open (none when it ended normally). */
  async leftovers(): Promise<InflightUpload[]> {
    try {
      const doc = JSON.parse(await readFile(this.path, 'utf8')) as { uploads?: InflightUpload[] };
      return Array.isArray(doc.uploads) ? doc.uploads.filter((u) => typeof u?.id === 'string' && typeof u.digest === 'string') : [];
    } catch {
      return [];
    }
  }

  add(upload: InflightUpload): Promise<void> {
    this.open.set(upload.id, upload);
    return this.flush();
  }

  remove(id: string): Promise<void> {
    this.open.delete(id);
    return this.flush();
  }

  clear(): Promise<void> {
    this.open.clear();
    return this.flush();
  }

  private flush(): Promise<void> {
    const snapshot = `${JSON.stringify({ uploads: [...this.open.values()] })}\n`;
    this.writing = this.writing.then(async () => {
      const tmp = `${this.path}.tmp`;
      await writeFile(tmp, snapshot);
      await rename(tmp, this.path);
    });
    return this.writing;
  }
}
