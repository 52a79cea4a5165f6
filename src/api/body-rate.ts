// A minimum transfer rate for request bodies: a client trickling a body (1 byte every few seconds) would otherwise
// hold its upload slot and its connection for as long as the idle timeout lets each byte reset the clock.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { RegistryError } from './errors.js';
import { sendJson } from './context.js';

export interface BodyRateOptions {
  /** Bytes per second; 0 turns the check off. */
  readonly minBytesPerSecond: number;
  /** Milliseconds the rate is averaged over. */
  readonly window: number;
}

/** The window is judged from this many samples, so a stall on our side inside it is seen and forgiven. */
const samplesPerWindow = 5;
const lingerMs = 1000;

interface Sample {
  readonly bytes: number;
  readonly ms: number;
  /** Was Wharf reading the body for the whole sample? Only then is a slow sample the client's fault. */
  readonly wanting: boolean;
}

interface Watched {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly log: Logger;
  lastBytes: number;
  lastTick: number;
  wanting: boolean;
  samples: Sample[];
}

export function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

/** Is a consumer reading the body, with room to take more? If not, a slow arrival is our doing (backpressure). */
function isReading(req: IncomingMessage): boolean {
  const consumed = req.listenerCount('data') > 0 || req.listenerCount('readable') > 0;
  return consumed && req.readableLength < req.readableHighWaterMark;
}

/**
 * Samples every body being received a few times per window; a body is cut when, over the last full window during
 * which Wharf was reading it throughout, fewer than minBytesPerSecond × window bytes arrived. A client that has sent
 * its whole body and waits for the answer is no longer watched; one held back by our own backpressure is not judged.
 */
export class BodyRateGuard {
  private readonly watched = new Set<Watched>();
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly options: BodyRateOptions) {}

  watch(req: IncomingMessage, res: ServerResponse, log: Logger): void {
    if (this.options.minBytesPerSecond <= 0 || this.options.window <= 0 || !hasBody(req)) return;
    const entry: Watched = { req, res, log, lastBytes: req.socket.bytesRead, lastTick: Date.now(), wanting: isReading(req), samples: [] };
    this.watched.add(entry);
    const done = () => this.watched.delete(entry);
    req.once('end', done);
    req.once('close', done);
    res.once('close', done);
    if (!this.timer) {
      this.timer = setInterval(() => this.tick(), Math.max(1, Math.floor(this.options.window / samplesPerWindow)));
      this.timer.unref();
    }
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private tick(): void {
    if (this.watched.size === 0) {
      this.stop();
      return;
    }
    const now = Date.now();
    for (const entry of this.watched) {
      const { req } = entry;
      if (req.complete || req.destroyed) {
        this.watched.delete(entry);
        continue;
      }
      const bytes = req.socket.bytesRead;
      const reading = isReading(req);
      entry.samples.push({ bytes: bytes - entry.lastBytes, ms: now - entry.lastTick, wanting: entry.wanting && reading });
      if (entry.samples.length > samplesPerWindow) entry.samples.shift();
      entry.lastBytes = bytes;
      entry.lastTick = now;
      entry.wanting = reading;
      if (this.tooSlow(entry.samples)) this.cut(entry);
    }
  }

  private tooSlow(samples: readonly Sample[]): boolean {
    if (samples.length < samplesPerWindow || !samples.every((s) => s.wanting)) return false;
    const bytes = samples.reduce((sum, s) => sum + s.bytes, 0);
    const ms = samples.reduce((sum, s) => sum + s.ms, 0);
    return bytes < (this.options.minBytesPerSecond * ms) / 1000;
  }

  private cut(entry: Watched): void {
    this.watched.delete(entry);
    const { req, res } = entry;
    const seconds = entry.samples.reduce((sum, s) => sum + s.ms, 0) / 1000;
    const received = entry.samples.reduce((sum, s) => sum + s.bytes, 0);
    entry.log.warn(
      { remoteAddr: req.socket.remoteAddress, bytes: received, seconds, minBytesPerSecond: this.options.minBytesPerSecond },
      'request body arriving too slowly; connection cut',
    );
    const socket = req.socket;
    const message = `request body arrived slower than ${this.options.minBytesPerSecond} bytes/s over ${this.options.window / 1000} s`;
    // Destroying the request (not just its socket) is what makes the handler's read fail, so it lets go of its upload
    // slot, lock and file: once our answer is finished, Node no longer aborts the request when the socket closes.
    const abort = () => req.destroy(new Error(message));
    if (res.headersSent) {
      abort();
      return;
    }
    const error = new RegistryError(
      'UNKNOWN',
      `${message}; connection closed`,
      { minBytesPerSecond: this.options.minBytesPerSecond, windowSeconds: this.options.window / 1000 },
      { status: 408 },
    );
    res.once('finish', () => {
      // Lingering close: a FIN after the answer, so the client reads it before the socket goes (closing with its
      // unread bytes pending would send a reset that can discard the answer), then a bound for clients that ignore it.
      socket.end();
      socket.once('close', abort);
      setTimeout(abort, lingerMs).unref();
    });
    sendJson(res, 408, error.toJSON(), { Connection: 'close' });
  }
}
