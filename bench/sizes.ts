// Workload sizes: the figures, and a --quick set for smoke runs (same shapes, smaller numbers).
const MiB = 1024 * 1024;

export interface Sizes {
  readonly bigBlob: number;
  readonly smallBlobs: number;
  readonly smallBlobSize: number;
  readonly smallManifests: number;
  readonly smallRepos: number;
  readonly smallConcurrency: number;
  readonly getImages: number;
  readonly getConcurrency: number;
  readonly getWarmupMs: number;
  readonly getDurationMs: number;
  readonly concurrentPushes: number;
  readonly concurrentBlob: number;
  readonly concurrentChunk: number;
}

export const fullSizes: Sizes = {
  bigBlob: 512 * MiB,
  smallBlobs: 2000,
  smallBlobSize: 4096,
  smallManifests: 200,
  smallRepos: 20,
  smallConcurrency: 16,
  getImages: 20,
  getConcurrency: 64,
  getWarmupMs: 3000,
  getDurationMs: 15_000,
  concurrentPushes: 8,
  concurrentBlob: 64 * MiB,
  concurrentChunk: 8 * MiB,
};

export const quickSizes: Sizes = {
  ...fullSizes,
  bigBlob: 32 * MiB,
  smallBlobs: 200,
  smallManifests: 20,
  getWarmupMs: 500,
  getDurationMs: 3000,
  concurrentBlob: 16 * MiB,
};

/** The largest number of requests any scenario keeps in flight: the size of each client's connection pool. */
export function maxConcurrency(s: Sizes): number {
  return Math.max(s.smallConcurrency, s.getConcurrency, s.concurrentPushes);
}

/** One line per workload, printed with the results so a table always says what it measured. */
export function describeSizes(s: Sizes): string[] {
  const mib = (n: number): string => `${n / 1024 / 1024} MiB`;
  return [
    `push/pull: one ${mib(s.bigBlob)} blob (POST, one streamed PATCH, PUT), pulled back and compared byte for byte`,
    `small: ${s.smallBlobs} distinct ${s.smallBlobSize / 1024} KiB blobs (POST+PUT) + ${s.smallManifests} manifests over ${s.smallRepos} repos, ${s.smallConcurrency} in flight; op = one blob or manifest`,
    `get: manifest GET by tag over ${s.getImages} images, ${s.getConcurrency} in flight, ${s.getWarmupMs / 1000} s warm-up (not counted) + ${s.getDurationMs / 1000} s`,
    `concurrent: ${s.concurrentPushes} pushes of ${mib(s.concurrentBlob)} at once in ${mib(s.concurrentChunk)} PATCH chunks`,
    `MB = 10^6 bytes; peak RSS = VmHWM of the server's process(es) at the end of the run`,
  ];
}
