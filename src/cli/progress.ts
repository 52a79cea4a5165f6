// A progress line for long CLI jobs (backup, restore, import). On a terminal it redraws one line on stderr, at most
// ~10 times a second; otherwise (a log file, CI, cron) it writes a plain line every few seconds, so logs stay short.
// Also the byte, duration and bar formats of every CLI report (gc, fsck), so that they all read alike. No dependency.

export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${n.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(Math.round(s % 60)).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

/** '[#####-----]  50%': the bar every long CLI job draws; fraction is clamped to 0..1. */
export function progressBar(fraction: number, width = 24): string {
  const f = Math.min(1, Math.max(0, fraction));
  const full = Math.round(f * width);
  return `[${'#'.repeat(full)}${'-'.repeat(width - full)}] ${String(Math.floor(f * 100)).padStart(3)}%`;
}

/** The writable end of a terminal or a file; process.stderr in the CLI, a fake in tests. */
export interface ProgressStream {
  write(chunk: string): unknown;
  readonly isTTY?: boolean;
  readonly columns?: number;
}

export interface ProgressOptions {
  /** What is running, first on the line ("backup", "import"). */
  readonly label: string;
  /** Name of the counted items ("blobs"). */
  readonly unit?: string;
  readonly total?: number;
  readonly totalBytes?: number;
  readonly stream?: ProgressStream;
  /** Redraw interval on a terminal. */
  readonly ttyIntervalMs?: number;
  /** Interval between plain lines when not on a terminal; 0 disables them (only log() and done() print). */
  readonly plainIntervalMs?: number;
  readonly now?: () => number;
}

export interface ProgressState {
  readonly done: number;
  readonly bytes: number;
  readonly total?: number;
  readonly totalBytes?: number;
  /** A short free-text note shown at the end of the line (the current repository, say). */
  readonly detail?: string;
}

export class Progress {
  private readonly stream: ProgressStream;
  private readonly tty: boolean;
  private readonly interval: number;
  private readonly started: number;
  private readonly now: () => number;
  private state: ProgressState;
  private lastDraw = 0;
  private drawn = false;
  private closed = false;

  constructor(private readonly options: ProgressOptions) {
    this.stream = options.stream ?? process.stderr;
    this.tty = this.stream.isTTY === true;
    this.interval = this.tty ? (options.ttyIntervalMs ?? 100) : (options.plainIntervalMs ?? 10_000);
    this.now = options.now ?? Date.now;
    this.started = this.now();
    this.lastDraw = this.started;
    this.state = { done: 0, bytes: 0, total: options.total, totalBytes: options.totalBytes };
  }

  /** Replaces the counters (fields left out keep their value); redraws when the interval has passed. */
  update(state: Partial<ProgressState>): void {
    this.state = { ...this.state, ...state };
    this.maybeDraw();
  }

  /** Adds to the counters. */
  add(items: number, bytes = 0, detail?: string): void {
    this.update({ done: this.state.done + items, bytes: this.state.bytes + bytes, ...(detail === undefined ? {} : { detail }) });
  }

  /** A whole line of output (a warning, a finished step) that must not be overwritten by the bar. */
  log(line: string): void {
    if (this.closed) {
      this.stream.write(`${line}\n`);
      return;
    }
    this.clear();
    this.stream.write(`${line}\n`);
    if (this.tty) this.draw();
  }

  /** Removes the bar (on a terminal); prints nothing else. Call once at the end, also on failure. */
  done(): void {
    if (this.closed) return;
    this.clear();
    this.closed = true;
  }

  /** The current line, without control characters (for tests and for the plain output). */
  line(): string {
    const s = this.state;
    const elapsed = Math.max(1, this.now() - this.started);
    const parts = [this.options.label];
    const fraction =
      s.totalBytes !== undefined && s.totalBytes > 0 ? s.bytes / s.totalBytes : s.total !== undefined && s.total > 0 ? s.done / s.total : null;
    if (fraction !== null) parts.push(progressBar(fraction));
    const unit = this.options.unit ?? 'items';
    parts.push(s.total !== undefined ? `${s.done}/${s.total} ${unit}` : `${s.done} ${unit}`);
    if (s.bytes > 0 || s.totalBytes) {
      parts.push(s.totalBytes !== undefined ? `${formatBytes(s.bytes)}/${formatBytes(s.totalBytes)}` : formatBytes(s.bytes));
      const rate = (s.bytes / elapsed) * 1000;
      if (elapsed >= 1000) parts.push(`${formatBytes(rate)}/s`);
      if (s.totalBytes !== undefined && rate > 0 && s.bytes < s.totalBytes && elapsed >= 2000) {
        parts.push(`ETA ${formatDuration(((s.totalBytes - s.bytes) / rate) * 1000)}`);
      }
    }
    parts.push(formatDuration(elapsed));
    if (s.detail) parts.push(s.detail);
    return parts.join('  ');
  }

  private maybeDraw(): void {
    if (this.closed || this.interval <= 0) return;
    const now = this.now();
    if (now - this.lastDraw < this.interval) return;
    this.draw();
  }

  private draw(): void {
    this.lastDraw = this.now();
    let text = this.line();
    if (this.tty) {
      const width = this.stream.columns ?? 80;
      if (text.length > width - 1) text = `${text.slice(0, Math.max(0, width - 2))}…`;
      this.stream.write(`\r${text}\u001b[K`);
      this.drawn = true;
    } else {
      this.stream.write(`${text}\n`);
    }
  }

  private clear(): void {
    if (this.tty && this.drawn) {
      this.stream.write('\r\u001b[K');
      this.drawn = false;
    }
  }
}
