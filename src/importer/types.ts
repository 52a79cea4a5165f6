// What an import is asked to do and what it reports (the CLI prints these, --json as they are).
import type { Registry } from '../registry/registry.js';
import type { DistributionStorage } from './distribution.js';
import type { ImportCounters } from './state.js';

export interface ImportProgress {
  readonly repositoriesDone: number;
  readonly repositoriesTotal: number;
  readonly blobsDone: number;
  readonly blobsTotal: number;
  readonly bytesDone: number;
  readonly bytesTotal: number;
  readonly repository: string | null;
}

export interface ImportOptions {
  readonly storage: DistributionStorage;
  /** The registry to import into. In a dry run it may be null (no registry in the data dir yet): all is new. */
  readonly registry: Registry | null;
  readonly dryRun: boolean;
  /** The data dir, where the state file is kept; null keeps no state. Ignored in a dry run. */
  readonly stateDir: string | null;
  /** Re-examine repositories the state file says were imported completely and have not changed. */
  readonly full?: boolean;
  /** Move tags that were pushed to Wharf directly (and differ from the source) to the source's manifest too. */
  readonly overwriteTags?: boolean;
  /** Blobs imported at once within a repository; default 4. */
  readonly concurrency?: number;
  /** Testing hook: after this many imported blobs, save the state and stop making progress (wait to be killed). */
  readonly pauseAfterBlobs?: number;
  readonly onProgress?: (progress: ImportProgress) => void;
  readonly onNotice?: (message: string) => void;
}

export type RepositoryStatus = 'imported' | 'unchanged' | 'incomplete' | 'invalid-name';

export interface RepositoryReport {
  readonly name: string;
  status: RepositoryStatus;
  readonly blobs: { imported: number; bytes: number; linked: number; present: number; danglingLinks: number };
  readonly manifests: { imported: number; present: number; schema1: number };
  readonly tags: { set: number; present: number; moved: number; schema1: number };
  /** Tags that Wharf has pointing elsewhere, pushed to Wharf directly: left alone (unless overwriteTags). */
  readonly conflicts: string[];
  readonly problems: string[];
}

export interface ImportSummary {
  readonly source: string;
  readonly dryRun: boolean;
  readonly repositories: RepositoryReport[];
  readonly counts: ImportCounters & {
    repositories: number;
    repositoriesUnchanged: number;
    repositoriesIncomplete: number;
    schema1Manifests: number;
    schema1Tags: number;
    danglingLinks: number;
    tagsMoved: number;
    tagsConflicting: number;
  };
  /** "repository:tag …" for tags left as Wharf has them (see RepositoryReport.conflicts). */
  readonly conflicts: string[];
  /** "repository: what went wrong", for everything that could not be imported (schema 1 content excluded). */
  readonly problems: string[];
  readonly statePath: string | null;
  readonly durationMs: number;
}
