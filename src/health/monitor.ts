import { randomBytes, randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import type { Logger } from 'pino';
import type { MetadataStore } from '../metadata/store.js';
import type { BlobDriver } from '../storage/driver.js';

export interface CheckResult {
  readonly ok: boolean;
  readonly consecutiveFailures: number;
  readonly lastError: string | null;
  readonly checkedAt: string | null;
  readonly durationMs: number | null;
}

type Check = () => Promise<void>;

function withTimeout(work: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    work,
    new Promise<void>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** Storage must accept, return and delete bytes: the same path a push and a pull take, on a probe object. */
export function storageCheck(driver: BlobDriver): Check {
  return async () => {
    const id = `health-${randomUUID()}`;
    const key = `_health/${id}`;
    const probe = randomBytes(32);
    await driver.createUpload(id);
    try {
      await driver.appendUpload(id, 0, Readable.from([probe]));
      await driver.commitUpload(id, key);
    } catch (err) {
      await driver.abortUpload(id).catch(() => undefined);
      throw err;
    }
    try {
      const chunks: Buffer[] = [];
      for await (const chunk of await driver.read(key)) chunks.push(chunk as Buffer);
      if (!Buffer.concat(chunks).equals(probe)) throw new Error('storage returned different bytes than were written');
    } finally {
      await driver.delete(key);
    }
  };
}

export function metadataCheck(metadata: MetadataStore): Check {
  return () => metadata.ping();
}

/**
 * Runs the readiness checks in the background so /readyz answers instantly; a check must fail `threshold` times
 * in a row before readiness fails, so one slow probe does not pull a node out of rotation.
 */
export class HealthMonitor {
  private readonly results = new Map<string, CheckResult>();
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly checks: Readonly<Record<string, Check>>,
    private readonly options: { interval: number; timeout: number; failureThreshold: number },
    private readonly log: Logger,
  ) {
    for (const name of Object.keys(checks)) {
      this.results.set(name, { ok: true, consecutiveFailures: 0, lastError: null, checkedAt: null, durationMs: null });
    }
  }

  async start(): Promise<void> {
    await this.runAll();
    const loop = () => {
      this.timer = setTimeout(() => void this.runAll().finally(loop), this.options.interval);
      this.timer.unref();
    };
    loop();
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
  }

  async runAll(): Promise<void> {
    await Promise.all(Object.entries(this.checks).map(([name, check]) => this.run(name, check)));
  }

  private async run(name: string, check: Check): Promise<void> {
    const started = Date.now();
    const previous = this.results.get(name)!;
    try {
      await withTimeout(check(), this.options.timeout);
      this.results.set(name, { ok: true, consecutiveFailures: 0, lastError: null, checkedAt: new Date().toISOString(), durationMs: Date.now() - started });
    } catch (err) {
      const failures = previous.consecutiveFailures + 1;
      this.results.set(name, {
        ok: false,
        consecutiveFailures: failures,
        lastError: (err as Error).message,
        checkedAt: new Date().toISOString(),
        durationMs: Date.now() - started,
      });
      this.log.warn({ check: name, failures, err: (err as Error).message }, 'readiness check failed');
    }
  }

  readiness(): { ready: boolean; checks: Record<string, CheckResult> } {
    const checks = Object.fromEntries(this.results);
    const ready = [...this.results.values()].every((r) => r.consecutiveFailures < this.options.failureThreshold);
    return { ready, checks };
  }
}
