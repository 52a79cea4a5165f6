// Small statistics helpers: latency recording without per-sample allocation, percentiles, medians.

/** Per-request durations in milliseconds, kept in a growing Float64Array (hundreds of thousands of samples). */
export class Latencies {
  private samples = new Float64Array(1 << 16);
  private n = 0;

  add(ms: number): void {
    if (this.n === this.samples.length) {
      const bigger = new Float64Array(this.samples.length * 2);
      bigger.set(this.samples);
      this.samples = bigger;
    }
    this.samples[this.n++] = ms;
  }

  get count(): number {
    return this.n;
  }

  /** Nearest-rank percentile, p in (0, 100]. */
  percentiles(...ps: number[]): number[] {
    const sorted = this.samples.slice(0, this.n).sort();
    return ps.map((p) => (this.n === 0 ? NaN : (sorted[Math.min(this.n - 1, Math.ceil((p / 100) * this.n) - 1)] ?? NaN)));
  }
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? (s[mid] ?? NaN) : ((s[mid - 1] ?? NaN) + (s[mid] ?? NaN)) / 2;
}

/** Throughput in MB/s (10^6 bytes, as the targets are stated). */
export function mbPerSecond(bytes: number, ms: number): number {
  return bytes / 1e6 / (ms / 1000);
}
