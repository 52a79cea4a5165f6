import type { MetadataStore } from '../metadata/store.js';
import { blobPrefix } from '../storage/paths.js';
import { BlobChecker } from './checker.js';
import { systemClock, Throttle, type Clock } from './throttle.js';
import { problemKinds, type FsckDeps, type FsckPhase, type FsckProblem, type FsckProgress, type ProblemKind } from './types.js';

export interface FsckOptions {
  /** Quarantine corrupt and size-mismatched bytes, forget records without bytes, re-link intact blobs. */
  readonly repair?: boolean;
  /** Bytes per second read for checking; 0 or absent: as fast as storage goes. */
  readonly rate?: number;
  /** Also list storage for files with no record (orphans); default true. */
  readonly orphans?: boolean;
  readonly signal?: AbortSignal;
  readonly clock?: Clock;
  /** Called after every blob, every 100 files and every manifest; callers decide how often to draw. */
  readonly onProgress?: (progress: FsckProgress) => void;
  /** Each problem as soon as it is known (and, with repair, dealt with). */
  readonly onProblem?: (problem: FsckProblem) => void;
  /** How long a repair waits for a busy blob (an upload committing, GC deleting) before skipping it. */
  readonly leaseWaitMs?: number;
}

export interface FsckReport {
  readonly repair: boolean;
  /** Blob records checked, and bytes read to check them and the orphans. */
  readonly blobs: number;
  readonly bytes: number;
  /** Files listed under blobs/. */
  readonly files: number;
  /** Manifests whose blob references were checked. */
  readonly manifests: number;
  readonly problems: readonly FsckProblem[];
  readonly counts: Readonly<Record<ProblemKind, number>>;
  readonly durationMs: number;
}

export function countProblems(problems: readonly FsckProblem[]): Record<ProblemKind, number> {
  const counts = Object.fromEntries(problemKinds.map((k) => [k, 0])) as Record<ProblemKind, number>;
  for (const p of problems) counts[p.kind]++;
  return counts;
}

/** Every manifest of every repository (tagged or not), repository by repository. */
export async function* allManifests(metadata: MetadataStore, signal?: AbortSignal): AsyncIterable<{ repository: string; digest: string }> {
  for (let last: string | undefined; ; ) {
    const repositories = await metadata.listRepositories({ last, limit: 200 });
    for (const repository of repositories) {
      signal?.throwIfAborted();
      const digests = new Set((await metadata.listTagDetails(repository)).map((t) => t.digest));
      for (const digest of await metadata.untaggedManifests(repository, Number.MAX_SAFE_INTEGER, 2 ** 31 - 1)) digests.add(digest);
      for (const digest of [...digests].sort()) yield { repository, digest };
    }
    if (repositories.length < 200) return;
    last = repositories[repositories.length - 1];
  }
}

/**
 * Checks the whole registry, safe while it serves: every blob record against its bytes (present, size, digest),
 * every file under blobs/ against the records (orphans), and every manifest's blob references against what its
 * repository can serve. With `repair`, what is wrong is quarantined or forgotten so that it is no longer served.
 */
export async function runFsck(deps: FsckDeps, options: FsckOptions = {}): Promise<FsckReport> {
  const clock = options.clock ?? systemClock;
  const started = clock.now();
  const { signal } = options;
  const stats = await deps.metadata.stats();
  const progress = { phase: 'blobs' as FsckPhase, blobs: 0, blobsTotal: stats.blobs, bytes: 0, bytesDone: 0, bytesTotal: stats.blobBytes, files: 0, manifests: 0 };
  const emit = () => options.onProgress?.({ ...progress, elapsedMs: clock.now() - started });
  const checker = new BlobChecker(deps, {
    repair: options.repair ?? false,
    throttle: new Throttle(options.rate ?? 0, clock),
    clock,
    signal,
    leaseWaitMs: options.leaseWaitMs,
    onBytes: (n) => {
      progress.bytes += n;
    },
  });
  const problems: FsckProblem[] = [];
  const found = (problem: FsckProblem | null) => {
    if (!problem) return;
    problems.push(problem);
    options.onProblem?.(problem);
  };

  emit();
  for (let last: string | undefined; ; ) {
    const page = await deps.metadata.listBlobs({ last, limit: 500 });
    for (const record of page) {
      signal?.throwIfAborted();
      found(await checker.checkRecord(record));
      progress.blobs++;
      progress.bytesDone += record.size;
      emit();
    }
    if (page.length < 500) break;
    last = page[page.length - 1]!.digest;
  }

  if (options.orphans ?? true) {
    progress.phase = 'storage';
    emit();
    for await (const key of deps.driver.list(blobPrefix)) {
      signal?.throwIfAborted();
      progress.files++;
      found(await checker.checkStoredFile(key));
      if (progress.files % 100 === 0) emit();
    }
  }

  progress.phase = 'references';
  emit();
  for await (const { repository, digest } of allManifests(deps.metadata, signal)) {
    await checker.checkManifest(repository, digest);
    progress.manifests++;
    emit();
  }
  for (const problem of await checker.finishReferences()) found(problem);
  emit();

  return {
    repair: options.repair ?? false,
    blobs: progress.blobs,
    bytes: progress.bytes,
    files: progress.files,
    manifests: progress.manifests,
    problems,
    counts: countProblems(problems),
    durationMs: clock.now() - started,
  };
}
