/**
 * Lets timers and I/O run. A resolved promise does not: the SQLite store answers synchronously behind `async`,
 * so a loop of awaited store calls would otherwise hold the event loop until the loop ends.
 */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Rows a background job (repository removal) touches per transaction before it yields. */
export const backgroundBatch = 500;

/**
 * Paces a background loop (GC, retention) of small store calls: it yields once it has held the event loop for
 * `budgetMs`, so requests wait at most about that long behind it, however much work the loop has.
 */
export class Pacer {
  private since = performance.now();

  constructor(private readonly budgetMs = 5) {}

  async tick(): Promise<void> {
    if (performance.now() - this.since < this.budgetMs) return;
    await yieldToEventLoop();
    this.since = performance.now();
  }
}
