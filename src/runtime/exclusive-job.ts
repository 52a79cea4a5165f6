// Background work that must run on one node of a cluster at a time (GC, upload purge, scrub): every node runs the
// job under a lease in the shared metadata store, and only the node holding the lease has the job started.
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import type { JobLeaseStore } from '../metadata/store.js';
import type { BackgroundJob } from './background-jobs.js';

/** This process's name on the leases it holds (host and process, for an operator reading the table). */
export const processHolder = `${hostname()}/${process.pid}/${randomUUID().slice(0, 8)}`;

export interface ExclusiveOptions {
  /** How long a lease outlives its last renewal: how soon another node takes over from one that died. */
  readonly ttlMs: number;
  readonly holder?: string;
}

export const defaultLeaseTtlMs = 30_000;

/**
 * Wraps `job` so that, of every node running the same wrapper on one store, one has it started at a time. Each
 * node tries for the lease every third of its TTL; the holder renews it then. A holder that cannot renew (the
 * database unreachable, or another node took the lease once it expired) stops the job before the lease could have
 * passed on; a holder that stops releases the lease, so another node takes over at its next try.
 */
export function exclusive(job: BackgroundJob, leases: JobLeaseStore, log: Logger, options: ExclusiveOptions = { ttlMs: defaultLeaseTtlMs }): BackgroundJob {
  const { ttlMs } = options;
  const holder = options.holder ?? processHolder;
  const every = Math.max(1, Math.floor(ttlMs / 3));
  let timer: NodeJS.Timeout | null = null;
  let ticking: Promise<void> | null = null;
  let stopped = true;
  let running = false;
  /** By this process's clock, when the lease it holds may have expired (renewal failing): stop before then. */
  let heldUntil = 0;

  const loseJob = async (why: string) => {
    running = false;
    log.warn({ job: job.name, holder }, `background job stopped on this node: ${why}`);
    await job.stop();
  };

  const tick = async () => {
    const asked = Date.now();
    try {
      if (!running) {
        if (!(await leases.tryAcquireJobLease(job.name, holder, ttlMs))) return;
        if (stopped) {
          await leases.releaseJobLease(job.name, holder);
          return;
        }
        heldUntil = asked + ttlMs;
        running = true;
        log.info({ job: job.name, holder }, 'background job runs on this node (it holds the cluster lease)');
        job.start();
      } else if (await leases.renewJobLease(job.name, holder, ttlMs)) {
        heldUntil = asked + ttlMs;
      } else {
        await loseJob('another node holds its lease');
      }
    } catch (err) {
      log.error({ err, job: job.name }, 'background job lease could not be taken or renewed');
      // Stop while the lease is surely still ours: before the next try could come after it expired.
      if (running && Date.now() + every >= heldUntil) await loseJob('its lease could not be renewed');
    }
  };

  const schedule = (delay: number) => {
    timer = setTimeout(() => {
      timer = null;
      ticking = tick().finally(() => {
        ticking = null;
        if (!stopped) schedule(every);
      });
    }, delay);
    timer.unref();
  };

  return {
    name: job.name,
    start() {
      stopped = false;
      schedule(0);
    },
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      timer = null;
      await ticking;
      if (!running) return;
      running = false;
      await job.stop();
      await leases.releaseJobLease(job.name, holder).catch((err: unknown) => log.error({ err, job: job.name }, 'job lease not released'));
    },
  };
}
