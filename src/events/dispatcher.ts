import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import type { Delivery, MetadataStore } from '../metadata/store.js';
import type { Metrics } from '../metrics/metrics.js';
import { webhookTarget, type WebhookEndpoint } from './config.js';
import type { RegistryEvent } from './event.js';
import { formatEvent } from './formats.js';

export interface DispatcherOptions {
  readonly endpoints: readonly WebhookEndpoint[];
  readonly maxAttempts: number;
  readonly initialBackoff: number;
  readonly maxBackoff: number;
  readonly pollInterval: number;
}

/** A claimed delivery stays this node's for its HTTP call (bounded by the endpoint's timeout) and this margin. */
const claimMarginMs = 30_000;

/**
 * Delivers the outbox. Each endpoint has one queue per repository; only a queue's head is ever in flight, so
 * events reach a receiver in order per repository, at least once (a crash after the receiver answered but before
 * the delivery was marked means one repeat, never a loss). Several nodes share the outbox: each claims the heads
 * it delivers, so a head goes out from one node; a node that dies holding a claim loses it when it expires.
 */
export class WebhookDispatcher {
  /** This dispatcher's name on its claims (the host and process, for an operator reading the table). */
  private readonly holder = `${hostname()}/${process.pid}/${randomUUID().slice(0, 8)}`;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private stopped = false;

  constructor(
    private readonly options: DispatcherOptions,
    private readonly metadata: MetadataStore,
    private readonly log: Logger,
    private readonly metrics: Metrics,
  ) {}

  start(): void {
    if (this.options.endpoints.length === 0) return;
    const tick = () => {
      if (this.stopped) return;
      this.running = this.deliverDue().finally(() => {
        this.running = null;
        if (!this.stopped) this.timer = setTimeout(tick, this.options.pollInterval);
      });
    };
    this.timer = setTimeout(tick, 0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }

  /** One pass over every endpoint's due queue heads. Exposed for tests and `wharf webhooks`. */
  async deliverDue(): Promise<void> {
    await Promise.all(this.options.endpoints.map((endpoint) => this.deliverEndpoint(endpoint)));
  }

  private async deliverEndpoint(endpoint: WebhookEndpoint): Promise<void> {
    try {
      // Heads of different repositories are independent, so they go out together.
      const due = await this.metadata.claimDueDeliveries(endpoint.name, this.holder, Date.now(), 32, endpoint.timeout + claimMarginMs);
      await Promise.all(due.map((delivery) => this.deliver(endpoint, delivery)));
    } catch (err) {
      this.log.error({ err, endpoint: endpoint.name }, 'webhook outbox pass failed');
    }
  }

  private backoff(attempts: number): number {
    const base = Math.min(this.options.initialBackoff * 2 ** attempts, this.options.maxBackoff);
    return Math.round(base * (0.8 + Math.random() * 0.4));
  }

  private async deliver(endpoint: WebhookEndpoint, delivery: Delivery): Promise<void> {
    const { contentType, body } = formatEvent(JSON.parse(delivery.payload) as RegistryEvent, endpoint.format);
    const target = webhookTarget(endpoint);
    let failure: string | null = null;
    try {
      const res = await fetch(target.url, {
        method: 'POST',
        headers: { 'Content-Type': contentType, 'User-Agent': 'wharf-webhooks', ...target.headers },
        body,
        signal: AbortSignal.timeout(endpoint.timeout),
        redirect: 'manual',
      });
      await res.arrayBuffer().catch(() => undefined);
      if (res.status < 200 || res.status >= 300) failure = `HTTP ${res.status}`;
    } catch (err) {
      const cause = (err as { cause?: { code?: string } }).cause?.code;
      failure = cause ?? (err as Error).name ?? 'error';
    }
    if (failure === null) {
      await this.metadata.markDelivered(endpoint.name, delivery.eventId);
      this.metrics.webhookDeliveries.inc({ endpoint: endpoint.name, outcome: 'delivered' });
      return;
    }
    const attempts = delivery.attempts + 1;
    const dead = attempts >= this.options.maxAttempts;
    await this.metadata.markFailed(endpoint.name, delivery.eventId, failure, dead ? null : Date.now() + this.backoff(delivery.attempts));
    this.metrics.webhookDeliveries.inc({ endpoint: endpoint.name, outcome: dead ? 'dead' : 'failed' });
    const fields = { endpoint: endpoint.name, eventId: delivery.eventId, repository: delivery.repository, attempts, error: failure };
    if (dead) this.log.error(fields, 'webhook delivery dead-lettered');
    else this.log.warn(fields, 'webhook delivery failed; will retry');
  }
}
