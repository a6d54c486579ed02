// Recent latencies of one method, for `hedgingDelay: auto`: hedge once a
// call has taken longer than, say, 95% of recent calls did. A fixed-size
// ring buffer keeps memory bounded per method and lets old behaviour age out
// by count rather than by timers.

/** Fewer samples than this and a high percentile is just the maximum of a few outliers. */
export const MIN_LATENCY_SAMPLES = 20;

export class LatencyWindow {
  private readonly samples: Float64Array;
  private count = 0;
  private next = 0;
  // Sorting 512 numbers per hedged call is cheap, but there is no reason to
  // redo it while nothing new was recorded.
  private sorted: Float64Array | undefined;

  constructor(size = 512) {
    this.samples = new Float64Array(Math.max(1, Math.floor(size)));
  }

  record(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) return;
    this.samples[this.next] = ms;
    this.next = (this.next + 1) % this.samples.length;
    if (this.count < this.samples.length) this.count++;
    this.sorted = undefined;
  }

  get size(): number {
    return this.count;
  }

  /** Nearest-rank percentile (p in 0..100) of the recorded samples; undefined until MIN_LATENCY_SAMPLES. */
  percentile(p: number): number | undefined {
    if (this.count < Math.min(MIN_LATENCY_SAMPLES, this.samples.length)) return undefined;
    // Float64Array sorts numerically (a plain array would sort as strings).
    this.sorted ??= this.samples.slice(0, this.count).sort();
    const rank = Math.ceil((Math.min(Math.max(p, 0), 100) / 100) * this.count);
    return this.sorted[Math.max(rank, 1) - 1];
  }
}
