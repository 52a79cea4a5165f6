// Upload requests served at once, with a per-client share so one client cannot hold every slot. A request over a
// cap waits its turn briefly: clients push layers in parallel (skopeo and podman 3-6 at once, Docker 3), so with a
// small cap (Distribution setups often set 5) refusing at once would fail ordinary pushes.

export type SlotRefusal = 'total' | 'client';
export type ReleaseSlot = () => void;

export interface UploadSlotLimits {
  readonly maxConcurrentUploads: number;
  readonly maxConcurrentUploadsPerClient: number;
  /** How long a request over a cap may wait for a slot (0: refuse at once). */
  readonly uploadQueueTimeout: number;
  /** Requests that may wait at once; more are refused at once. */
  readonly maxQueuedUploads: number;
}

interface Waiter {
  readonly client: string;
  readonly grant: (release: ReleaseSlot) => void;
}

export class UploadSlots {
  private total = 0;
  private readonly byClient = new Map<string, number>();
  /** First come, first served, except that a waiter whose own client is at its cap lets the next one by. */
  private readonly queue: Waiter[] = [];

  constructor(private readonly limits: UploadSlotLimits) {}

  get waiting(): number {
    return this.queue.length;
  }

  /**
   * A slot for `client`, at once or after waiting up to uploadQueueTimeout; else the cap that refused it
   * ('total' or 'client'). `abandoned` ends the wait (the client hung up). The returned function gives the slot
   * back: call it exactly once.
   */
  async acquire(client: string, abandoned?: AbortSignal): Promise<ReleaseSlot | SlotRefusal> {
    // No queue jumping: a freed slot goes to a waiter at once, so a free slot now means every waiter is held back
    // by its own client's cap.
    const slot = this.take(client);
    if (slot) return slot;
    if (this.limits.uploadQueueTimeout <= 0 || this.queue.length >= this.limits.maxQueuedUploads || abandoned?.aborted) return this.refusal(client);
    return new Promise((resolve) => {
      const leave = () => {
        clearTimeout(timer);
        abandoned?.removeEventListener('abort', onAbort);
        const at = this.queue.indexOf(waiter);
        if (at !== -1) this.queue.splice(at, 1);
      };
      const waiter: Waiter = {
        client,
        grant: (release) => {
          leave();
          resolve(release);
        },
      };
      const onAbort = () => {
        leave();
        resolve(this.refusal(client));
      };
      const timer = setTimeout(onAbort, this.limits.uploadQueueTimeout);
      abandoned?.addEventListener('abort', onAbort, { once: true });
      this.queue.push(waiter);
    });
  }

  private refusal(client: string): SlotRefusal {
    return (this.byClient.get(client) ?? 0) >= this.limits.maxConcurrentUploadsPerClient ? 'client' : 'total';
  }

  private take(client: string): ReleaseSlot | null {
    const held = this.byClient.get(client) ?? 0;
    if (held >= this.limits.maxConcurrentUploadsPerClient || this.total >= this.limits.maxConcurrentUploads) return null;
    this.total++;
    this.byClient.set(client, held + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.total--;
      const left = (this.byClient.get(client) ?? 1) - 1;
      if (left > 0) this.byClient.set(client, left);
      else this.byClient.delete(client);
      this.handOver();
    };
  }

  private handOver(): void {
    for (let i = 0; i < this.queue.length && this.total < this.limits.maxConcurrentUploads; ) {
      const waiter = this.queue[i]!;
      const slot = this.take(waiter.client);
      if (slot) waiter.grant(slot); // grant removes it from the queue
      else i++;
    }
  }
}

/** Whose share an upload counts against: the user when there is one, so users behind one proxy do not share. */
export function uploadClientKey(user: string | null | undefined, clientAddress: string): string {
  return user ? `user:${user}` : `addr:${clientAddress}`;
}
