import { Code } from "../call/status.js";
import { SecondsRing } from "./seconds-ring.js";

/** Seconds the live stats cover (the admin API's `window_seconds`). */
export const STATS_WINDOW_S = 10;

// Latency histogram: log-scale buckets 20% wide from 0.1 ms (bucket 0 is
// everything up to it) to about three minutes (the last one is everything
// beyond). A percentile read from it is within 20% of the exact one, which is
// what a dashboard needs, for 80 counters a second.
const BUCKETS = 80;
const MIN_MS = 0.1;
const GROWTH = 1.2;
const LN_GROWTH = Math.log(GROWTH);

export function bucketOf(ms: number): number {
  if (!(ms > MIN_MS)) return 0;
  return Math.min(BUCKETS - 1, 1 + Math.floor(Math.log(ms / MIN_MS) / LN_GROWTH));
}

/** The upper bound of bucket `b` in ms. */
function upperMs(b: number): number {
  return MIN_MS * GROWTH ** b;
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

  constructor(now?: () => number) {
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
   * An attempt ended with `code` after `ms`. A cancel (a hedge that lost,
   * a client that left) counts as a call but says nothing about the
   * endpoint's errors or speed.
   */
  record(ms: number, code: Code): void {
    const i = this.ring.slot();
    this.calls[i]++;
    if (code === Code.CANCELLED) {
      this.cancels[i]++;
      return;
    }
    if (code !== Code.OK) this.errors[i]++;
    this.latency[i * BUCKETS + bucketOf(ms)]++;
  }

  read(): EndpointRates {
    this.ring.slot();
    let calls = 0;
    let errors = 0;
    let cancels = 0;
    for (let i = 0; i < STATS_WINDOW_S; i++) {
      calls += this.calls[i]!;
      errors += this.errors[i]!;
      cancels += this.cancels[i]!;
    }
    const counted = calls - cancels;
    const hist = new Uint32Array(BUCKETS);
    for (let i = 0; i < STATS_WINDOW_S; i++) {
      for (let b = 0; b < BUCKETS; b++) hist[b]! += this.latency[i * BUCKETS + b]!;
    }
    return {
      callsPerSecond: calls / this.ring.coveredSeconds(),
      errorRate: counted > 0 ? errors / counted : 0,
      p50Ms: percentile(hist, counted, 50),
      p99Ms: percentile(hist, counted, 99),
    };
  }
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
      const lower = b === 0 ? 0 : upperMs(b - 1);
      return lower + (upperMs(b) - lower) * ((rank - seen) / n);
    }
    seen += n;
  }
  return upperMs(BUCKETS - 1);
}
