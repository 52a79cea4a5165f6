// Upload requests served at once, with a per-client share so one client cannot hold every slot.

export class UploadSlots {
  private total = 0;
  private readonly byClient = new Map<string, number>();

  constructor(private readonly limits: { readonly maxConcurrentUploads: number; readonly maxConcurrentUploadsPerClient: number }) {}

  /**
   * Takes a slot for `client`: 'total' or 'client' names the cap that refused it, else the returned function gives
   * the slot back (call it exactly once).
   */
  acquire(client: string): (() => void) | 'total' | 'client' {
    const held = this.byClient.get(client) ?? 0;
    if (held >= this.limits.maxConcurrentUploadsPerClient) return 'client';
    if (this.total >= this.limits.maxConcurrentUploads) return 'total';
    this.total++;
    this.byClient.set(client, held + 1);
    return () => {
      this.total--;
      const left = (this.byClient.get(client) ?? 1) - 1;
      if (left > 0) this.byClient.set(client, left);
      else this.byClient.delete(client);
    };
  }
}

/** Whose share an upload counts against: the user when there is one, so users behind one proxy do not share. */
export function uploadClientKey(user: string | null | undefined, remoteAddress: string | undefined): string {
  return user ? `user:${user}` : `addr:${remoteAddress ?? ''}`;
}
