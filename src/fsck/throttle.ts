// Time, injectable so that rate limits are tested without waiting, and a byte-rate throttle built on it.

export interface Clock {
  now(): number;
  /** Resolves after ms; rejects with the signal's reason when it is aborted first. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve, reject) => {
      if (signal?.aborted) {
        reject(signal.reason);
        return;
      }
      const onAbort = () => {
        clearTimeout(timer);
        reject(signal!.reason);
      };
      const timer = setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      signal?.addEventListener('abort', onAbort, { once: true });
    }),
};

/**
 * Paces reads to at most `rate` bytes per second: each chunk is paid for with the time it would take at that rate,
 * and the caller sleeps until it is. No credit is saved up while idle, so a pause is never followed by a burst.
 * A rate of 0 means unlimited.
 */
export class Throttle {
  private next = 0;

  constructor(
    private readonly rate: number,
    private readonly clock: Clock = systemClock,
  ) {}

  async take(bytes: number, signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted();
    if (this.rate <= 0 || bytes <= 0) return;
    const now = this.clock.now();
    this.next = Math.max(this.next, now) + (bytes * 1000) / this.rate;
    const wait = this.next - now;
    if (wait >= 1) await this.clock.sleep(wait, signal);
  }
}
