import type { Logger } from 'pino';
import { BlobChecker } from './checker.js';
import { allManifests } from './fsck.js';
import { systemClock, Throttle, type Clock } from './throttle.js';
import type { FsckDeps, FsckProblem, ProblemKind } from './types.js';

export interface ScrubSettings {
  /** Bytes per second read at most (blob bytes and manifest bodies); 0: unlimited. */
  readonly rate: number;
  /** Pause between the end of a round and the start of the next, ms. */
  readonly interval: number;
}

/** Where the scrub reports; the registry implements it with its Prometheus counters. */
export interface ScrubObserver {
  /** Bytes read and hashed. */
  checked(bytes: number): void;
  problem(kind: ProblemKind): void;
}

export interface ScrubRound {
  /** The digest the round started after ('' from the beginning). */
  readonly from: string;
  readonly blobs: number;
  readonly bytes: number;
  readonly manifests: number;
  readonly problems: readonly FsckProblem[];
  readonly durationMs: number;
}

const noObserver: ScrubObserver = { checked: () => undefined, problem: () => undefined };

/**
 * The background scrub: fsck's checks at a bounded read rate, round after round. It walks blob records in digest
 * order, remembers the last one it finished (so stop/start resumes there; a restart begins again), then checks
 * every manifest's references. Problems are logged and counted, never repaired: that is `wharf fsck --repair`,
 * run by an operator. It does not list storage for orphans (expensive on object stores, and GC's concern).
 */
export class Scrubber {
  private last = '';
  private controller: AbortController | null = null;
  private loop: Promise<void> | null = null;
  /** One throttle for the scrubber's life, so the pace holds across blobs and rounds. */
  private readonly throttle: Throttle;

  constructor(
    private readonly deps: FsckDeps & { readonly log: Logger },
    private readonly settings: ScrubSettings,
    private readonly observer: ScrubObserver = noObserver,
    private readonly clock: Clock = systemClock,
  ) {
    this.throttle = new Throttle(settings.rate, clock);
  }

  /** The last digest checked in the round in progress ('' at the start of a round). */
  get position(): string {
    return this.last;
  }

  get running(): boolean {
    return this.loop !== null;
  }

  start(): void {
    if (this.loop) return;
    const controller = new AbortController();
    this.controller = controller;
    this.loop = this.run(controller.signal);
  }

  /** Stops at the next chunk or sleep; resolves once the scrub no longer touches storage or metadata. */
  async stop(): Promise<void> {
    this.controller?.abort(new Error('scrub stopped'));
    await this.loop;
    this.loop = null;
    this.controller = null;
  }

  private async run(signal: AbortSignal): Promise<void> {
    this.deps.log.info({ rate: this.settings.rate, interval: this.settings.interval, from: this.last || undefined }, 'scrub started');
    while (!signal.aborted) {
      try {
        await this.round(signal);
      } catch (err) {
        if (signal.aborted) break;
        this.deps.log.error({ err, position: this.last }, 'scrub round failed; it resumes after the interval');
      }
      try {
        await this.clock.sleep(this.settings.interval, signal);
      } catch {
        break;
      }
    }
    this.deps.log.info({ position: this.last || undefined }, 'scrub stopped');
  }

  /** Scrubs from where the last round stopped to the end, then the manifests' references. */
  async round(signal?: AbortSignal): Promise<ScrubRound> {
    const started = this.clock.now();
    const from = this.last;
    let bytes = 0;
    let blobs = 0;
    let manifests = 0;
    const problems: FsckProblem[] = [];
    const checker = new BlobChecker(this.deps, {
      repair: false,
      throttle: this.throttle,
      clock: this.clock,
      signal,
      onBytes: (n) => {
        bytes += n;
        this.observer.checked(n);
      },
    });
    const found = (problem: FsckProblem | null) => {
      if (!problem) return;
      problems.push(problem);
      this.observer.problem(problem.kind);
      this.deps.log.error({ problem }, `scrub: ${problem.kind} blob ${problem.digest ?? problem.key}: ${problem.detail}`);
    };
    for (;;) {
      const page = await this.deps.metadata.listBlobs({ last: this.last, limit: 200 });
      for (const record of page) {
        signal?.throwIfAborted();
        found(await checker.checkRecord(record));
        blobs++;
        this.last = record.digest;
      }
      if (page.length < 200) break;
    }
    for await (const { repository, digest } of allManifests(this.deps.metadata, signal)) {
      await checker.checkManifest(repository, digest);
      manifests++;
    }
    for (const problem of await checker.finishReferences()) found(problem);
    this.last = '';
    const round: ScrubRound = { from, blobs, bytes, manifests, problems, durationMs: this.clock.now() - started };
    this.deps.log.info({ scrub: { ...round, problems: problems.length } }, 'scrub round finished');
    return round;
  }
}
