import type { Logger } from 'pino';
import type { MetadataStore, PullRecord } from '../metadata/store.js';

/**
 * Pull times feed retention ("not pulled for 90 days"). Writing one per manifest GET would make the hottest read
 * path a write, so pulls are collected in memory (latest per manifest/tag) and written in one transaction a few
 * times a minute: the server's runtime calls flush() on a schedule (src/runtime/jobs.ts).
 */
export class PullRecorder {
  private pending = new Map<string, PullRecord>();

  constructor(
    private readonly metadata: MetadataStore,
    private readonly log: Logger,
  ) {}

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

  /** Writes what is still pending; the registry calls it before its metadata store closes. */
  async close(): Promise<void> {
    await this.flush();
  }
}
