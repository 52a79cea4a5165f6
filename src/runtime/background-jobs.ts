import type { Logger } from 'pino';

/**
 * Work the server does beside answering requests. Nothing starts one but the runtime, after the listener is up,
 * so building a Registry (as the one-shot CLI commands do) never leaves a timer behind.
 */
export interface BackgroundJob {
  readonly name: string;
  /** Must not block: the first pass runs on a timer, not inside start(). */
  start(): void;
  /** Resolves once the job no longer touches storage or metadata, which close after it. */
  stop(): Promise<void>;
}

/** The server's jobs: started in the order added, stopped in reverse, so a job outlives none it depends on. */
export class BackgroundJobs {
  private readonly jobs: BackgroundJob[] = [];
  private running: BackgroundJob[] = [];

  constructor(private readonly log: Logger) {}

  add(job: BackgroundJob | null): void {
    if (job) this.jobs.push(job);
  }

  startAll(): void {
    for (const job of this.jobs) {
      job.start();
      this.running.push(job);
    }
  }

  async stopAll(): Promise<void> {
    const running = this.running.reverse();
    this.running = [];
    for (const job of running) {
      // One job failing to stop must not keep the others (and the metadata store behind them) open.
      await job.stop().catch((err: unknown) => this.log.error({ err, job: job.name }, 'background job did not stop cleanly'));
    }
  }
}

export interface RepeatOptions {
  /** Pause after one pass finishes before the next starts, ms. */
  readonly interval: number;
  /** Run the first pass at once instead of after one interval. */
  readonly runAtStart?: boolean;
}

/**
 * A pass repeated forever. The next pass is timed from the end of the last, so a slow one (a large GC) never
 * overlaps the next; stop() waits for a pass in flight. `pass` must handle its own failures.
 */
export function repeating(name: string, options: RepeatOptions, pass: () => Promise<void>): BackgroundJob {
  let timer: NodeJS.Timeout | null = null;
  let inFlight: Promise<void> | null = null;
  let stopped = false;
  const schedule = (delay: number) => {
    timer = setTimeout(() => {
      timer = null;
      inFlight = pass().finally(() => {
        inFlight = null;
        if (!stopped) schedule(options.interval);
      });
    }, delay);
    // The server's listener keeps the process alive; a job alone must not.
    timer.unref();
  };
  return {
    name,
    start() {
      stopped = false;
      schedule(options.runAtStart ? 0 : options.interval);
    },
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      timer = null;
      await inFlight;
    },
  };
}
