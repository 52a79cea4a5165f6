// Dead request chunks, collected by volume. Each chunk a socket reads is a fresh 64 KiB buffer outside the V8 heap;
// once stored it is garbage, but V8 frees it only when a scavenge finds its tiny wrapper dead, and scavenges follow
// heap allocation, which a streamed upload hardly does: one 512 MiB push left 30-45 MiB of dead chunks waiting
// (external memory and RSS sampled every 200 ms), most of Wharf's peak-RSS gap to Distribution. A minor GC (a
// scavenge of the young generation, about 0.1 ms when little of it is alive) after every few MiB of stored chunks
// bounds that garbage instead.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

type Collect = (options: { type: 'minor' | 'major' }) => void;

/** Stored bytes between two minor GCs: the most dead chunk memory left waiting for one. */
const EVERY = 8 * 1024 * 1024;

function minorCollector(): Collect | null {
  const exposed = (globalThis as { gc?: Collect }).gc;
  if (exposed) return exposed;
  try {
    // --expose-gc given after start-up only installs gc() in contexts created afterwards: take it from a fresh one.
    setFlagsFromString('--expose-gc');
    return runInNewContext('gc') as Collect;
  } catch {
    return null;
  }
}

let collect: Collect | null | undefined;
let pending = 0;

/** Notes `bytes` of transient buffers (request chunks) that are dead once the caller is done with them. */
export function chunksDone(bytes: number): void {
  pending += bytes;
  if (pending < EVERY) return;
  pending = 0;
  if (collect === undefined) collect = minorCollector();
  collect?.({ type: 'minor' });
}
