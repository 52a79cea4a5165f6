import type { OutboxEvent } from '../metadata/store.js';
import { matchesAny, repositoryGlob } from '../oci/glob.js';
import type { EventAction, WebhookEndpoint } from './config.js';
import { buildEvent, type EventOrigin, type EventTarget } from './event.js';

interface EndpointFilter {
  readonly name: string;
  readonly actions: ReadonlySet<EventAction>;
  readonly repositories: readonly RegExp[];
}

/**
 * Turns a change into the outbox rows the metadata store commits with it: one event, addressed to the endpoints
 * whose filters match. Building nothing when no endpoint wants an action keeps hot paths (pulls) write-free.
 */
export class EventRecorder {
  private readonly filters: readonly EndpointFilter[];

  constructor(endpoints: readonly WebhookEndpoint[]) {
    this.filters = endpoints.map((e) => ({ name: e.name, actions: new Set(e.actions), repositories: e.repositories.map(repositoryGlob) }));
  }

  wants(action: EventAction): boolean {
    return this.filters.some((f) => f.actions.has(action));
  }

  events(action: EventAction, target: EventTarget, origin: EventOrigin | undefined): OutboxEvent[] {
    if (!origin) return [];
    const endpoints = this.filters.filter((f) => f.actions.has(action) && matchesAny(f.repositories, target.repository)).map((f) => f.name);
    if (endpoints.length === 0) return [];
    return [{ repository: target.repository, payload: JSON.stringify(buildEvent(action, target, origin)), endpoints }];
  }
}
