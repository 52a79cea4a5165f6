import type { Logger } from 'pino';
import type { MetadataStore, PullRecord } from '../metadata/store.js';

/**
 * Pull times feed retention ("not pulled for 90 days"). Writing one per manifest GET would make the hottest read
 * path a write, so pulls are collected in memory (latest per manifest/tag) and written in one transaction a few
 * times a minute.
 */
export class PullRecorder {
  private pending = new Map<string, PullRecord>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly metadata: MetadataStore,
    private readonly log: Logger,
    intervalMs = 10_000,
  ) {
    this.timer = setInterval(() => void this.flush(), intervalMs);
    this.timer.unref();
  }

  record(repository: string, digest: string, tag: string | null): void {
    this.pending.set(`${repository}\u0000${digest}\u0000${tag ?? ''}`, { repository, digest, tag, at: Date.now() });
  }

  async flush(): Promise<void> {
    if (this.pending.size === 0) return;
    const batch = [...this.pending.values()];
    this.pending = new Map();
    try {
      await this.metadata.recordPulls(batch);
    } catch (err) {
      this.log.warn({ err }, 'could not record pull times');
    }
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }
}
