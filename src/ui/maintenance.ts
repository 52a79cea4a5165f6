// What the storage page asks of the running registry beyond its services: totals, free space, GC and webhook
// deliveries. The runtime builds it from the registry; the UI's API only sees this interface.
export interface GcReport {
  readonly dryRun: boolean;
  readonly manifestsDeleted: number;
  readonly blobsDeleted: number;
  readonly bytesFreed: number;
  readonly durationMs: number;
}

/** The last GC pass any process ran (the server's schedule, `wharf gc`, this UI), as the metadata store recorded it. */
export interface LastGc {
  readonly at: number;
  /** Null for a pass recorded before the store kept what started it. */
  readonly trigger: 'schedule' | 'cli' | 'ui' | null;
  readonly report: GcReport;
  /** Every pass so far. */
  readonly runs: number;
  readonly totalBytesFreed: number;
}

export interface DeadDelivery {
  readonly endpoint: string;
  readonly eventId: number;
  readonly repository: string;
  readonly attempts: number;
  readonly lastError: string | null;
  readonly createdAt: number;
}

export interface Maintenance {
  totals(): Promise<{ repositories: number; manifests: number; blobs: number; blobBytes: number }>;
  /** The file system holding the data directory. */
  disk(): Promise<{ total: number; free: number } | null>;
  lastGc(): Promise<LastGc | null>;
  runGc(dryRun: boolean): Promise<GcReport>;
  deliveries(): Promise<{ endpoints: { endpoint: string; pending: number; dead: number }[]; dead: DeadDelivery[] }>;
  /** Puts dead letters (of one endpoint, or all) back in their queues; how many. */
  retryDead(endpoint: string | null): Promise<number>;
}
