// Bounds the bcrypt work a server takes on at once. A password check costs tens of milliseconds of CPU by design,
// so a flood of wrong passwords would otherwise queue unbounded work and slow every other request down; beyond
// `maxRunning` checks in progress and `maxWaiting` waiting for a slot, a check is refused at once (the caller
// answers 429 with Retry-After) instead of queued.

/** Every verification slot and every place in the queue is taken. */
export class VerificationBusy extends Error {
  constructor() {
    super('too many password checks in progress');
  }
}

export class VerificationLimiter {
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(
    private readonly maxRunning: number,
    private readonly maxWaiting: number,
  ) {}

  /** Checks running and waiting now (for tests and diagnostics). */
  get load(): { running: number; waiting: number } {
    return { running: this.running, waiting: this.waiting.length };
  }

  /** Runs `check` once a slot is free; throws VerificationBusy without running it when the queue is full too. */
  async run<T>(check: () => Promise<T>): Promise<T> {
    if (this.running < this.maxRunning) {
      this.running++;
    } else {
      if (this.waiting.length >= this.maxWaiting) throw new VerificationBusy();
      // The slot is handed over by the finishing check, so `running` already counts this one.
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    }
    try {
      return await check();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.running--;
    }
  }
}
