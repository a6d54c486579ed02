import { Code } from "../call/status.js";
import { SecondsRing } from "./seconds-ring.js";

/** Seconds the live stats cover (the admin API's `window_seconds`). */
export const STATS_WINDOW_S = 10;

// Latency histogram over whole microseconds, four buckets per power of two
// (HdrHistogram's layout at two bits of precision): a bucket is at most 25%
// wide, so a percentile read from it is within 25% of the exact one, which is
// what a dashboard needs. Finding the bucket is a clz32 and a shift, no
// logarithm; 124 buckets reach 2^31 µs (about 36 minutes).
const BUCKETS = 124;

export function bucketOf(ms: number): number {
  const us = ms * 1000;
  if (!(us >= 4)) return us >= 1 ? Math.floor(us) : 0;
  if (us >= 0x7fffffff) return BUCKETS - 1;
  const u = us >>> 0;
  const e = 31 - Math.clz32(u); // 2..30
  return (e - 1) * 4 + ((u >>> (e - 2)) & 3);
}

/** The lower bound of bucket `b` in ms (the upper is the next bucket's lower). */
export function lowerMs(b: number): number {
  if (b < 4) return b / 1000;
  const e = Math.floor(b / 4) + 1;
  return ((4 + (b % 4)) * 2 ** (e - 2)) / 1000;
}

export interface EndpointRates {
  callsPerSecond: number;
  /** Share of the attempts that ended with a status other than OK, cancels left out; 0 without any. */
  errorRate: number;
  /** 0 without attempts in the window. */
  p50Ms: number;
  p99Ms: number;
}

/**
 * One endpoint's recent attempts, for the admin API: how many ended each
 * second, how many failed, and how long they took, over the last
 * STATS_WINDOW_S seconds. Recording is a few counter increments in
 * preallocated arrays (it runs once per attempt); reading sums the window.
 */
export class EndpointStats {
  private readonly calls = new Uint32Array(STATS_WINDOW_S);
  private readonly errors = new Uint32Array(STATS_WINDOW_S);
  private readonly cancels = new Uint32Array(STATS_WINDOW_S);
  private readonly latency = new Uint32Array(STATS_WINDOW_S * BUCKETS);
  private readonly ring: SecondsRing;

  constructor(private readonly now: () => number = () => performance.now()) {
    this.ring = new SecondsRing(
      STATS_WINDOW_S,
      (i) => {
        this.calls[i] = 0;
        this.errors[i] = 0;
        this.cancels[i] = 0;
        this.latency.fill(0, i * BUCKETS, (i + 1) * BUCKETS);
      },
      now,
    );
  }

  /**
   * An attempt that started at `startedAt` (performance.now()) ended now with
   * `code`. A cancel (a hedge that lost, a client that left) counts as a call
   * but says nothing about the endpoint's errors or speed. The one clock
   * read serves both the duration and the slot: on some virtual machines a
   * read costs more than the rest of this method.
   */
  record(startedAt: number, code: Code): void {
    const now = this.now();
    const i = this.ring.slot(now);
    this.calls[i]++;
    if (code === Code.CANCELLED) {
      this.cancels[i]++;
      return;
    }
    if (code !== Code.OK) this.errors[i]++;
    this.latency[i * BUCKETS + bucketOf(now - startedAt)]++;
  }

  read(): EndpointRates {
    return ratesOf([this.window()]);
  }

  /** The window as counts, which add up across processes where rates and percentiles do not. */
  window(): StatsWindow {
    this.ring.slot(this.now());
    let calls = 0;
    let errors = 0;
    let cancels = 0;
    for (let i = 0; i < STATS_WINDOW_S; i++) {
      calls += this.calls[i]!;
      errors += this.errors[i]!;
      cancels += this.cancels[i]!;
    }
    const latency = new Uint32Array(BUCKETS);
    for (let i = 0; i < STATS_WINDOW_S; i++) {
      for (let b = 0; b < BUCKETS; b++) latency[b]! += this.latency[i * BUCKETS + b]!;
    }
    return { calls, errors, cancels, seconds: this.ring.coveredSeconds(), latency };
  }
}

/**
 * One endpoint's window in one process (EndpointStats.window()): what the
 * primary of `workers: N` adds up over its workers (workers/group-view.ts).
 */
export interface StatsWindow {
  /** Attempts that ended, cancels included. */
  calls: number;
  errors: number;
  cancels: number;
  /** The seconds the counts cover (a young worker's window is shorter). */
  seconds: number;
  /** Attempts by latency bucket (bucketOf), cancels left out. */
  latency: Uint32Array;
}

/**
 * The rates of one or more windows of the same endpoint (one per process):
 * calls per second add up (each over its own seconds), the error rate is
 * over all counted attempts, and percentiles come from the summed histogram.
 */
export function ratesOf(windows: readonly StatsWindow[]): EndpointRates {
  let callsPerSecond = 0;
  let errors = 0;
  let counted = 0;
  const hist = windows.length === 1 ? windows[0]!.latency : new Uint32Array(BUCKETS);
  for (const w of windows) {
    callsPerSecond += w.calls / w.seconds;
    errors += w.errors;
    counted += w.calls - w.cancels;
    if (hist !== w.latency) for (let b = 0; b < BUCKETS; b++) hist[b]! += w.latency[b] ?? 0;
  }
  return {
    callsPerSecond,
    errorRate: counted > 0 ? errors / counted : 0,
    p50Ms: percentile(hist, counted, 50),
    p99Ms: percentile(hist, counted, 99),
  };
}

/** The p-th percentile of a histogram of `total` samples, interpolated within its bucket. */
function percentile(hist: Uint32Array, total: number, p: number): number {
  if (total === 0) return 0;
  const rank = (p / 100) * total;
  let seen = 0;
  for (let b = 0; b < BUCKETS; b++) {
    const n = hist[b]!;
    if (n === 0) continue;
    if (seen + n >= rank) {
      const lower = lowerMs(b);
      return lower + (lowerMs(b + 1) - lower) * ((rank - seen) / n);
    }
    seen += n;
  }
  return lowerMs(BUCKETS);
}
