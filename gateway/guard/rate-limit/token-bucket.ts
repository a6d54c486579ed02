/**
 * A set of token buckets, one per key: what a rate limit rule counts with.
 * take() answers 0 when a token was taken, else how many milliseconds until
 * one will be there; a shared store may fail (throw or reject).
 */
export interface Buckets {
  take(key: string): number | Promise<number>;
}

/**
 * Token buckets as GCRA (the generic cell rate algorithm, which is a token
 * bucket kept as one number): a key stores the time at which its bucket
 * will be full again. Taking a token moves that time one interval
 * (1 / tokensPerSecond) later; a take that would move it more than `burst`
 * intervals past now is refused, and told how long until it would not be.
 * An empty bucket refills one token per interval, a full one stays full.
 *
 * Not rate-limiter-flexible's RateLimiterMemory: its points/duration model
 * is a fixed window (`points` per `duration`, all at once), and no mapping
 * of burst and rate onto it is a token bucket. points=burst over
 * burst/tokensPerSecond seconds lets 2 x burst through across a window's
 * edge and then nothing until the next window, where a bucket refills
 * steadily; its BurstyRateLimiter is two such windows. The shared buckets
 * use the library's RateLimiterRedis with this same arithmetic in Lua
 * (redis-buckets.ts).
 */
export class MemoryBuckets implements Buckets {
  /** Per key: when its bucket is full again (ms on `now`'s clock). Absent: full. */
  private readonly fullAt = new Map<string, number>();
  private readonly intervalMs: number;
  private readonly depthMs: number;

  constructor(
    tokensPerSecond: number,
    burst: number,
    private readonly now: () => number = () => performance.now(),
    /** Keys come from clients (a header, an address): past this many, full buckets are forgotten, then the oldest. */
    private readonly maxKeys = 100_000,
  ) {
    this.intervalMs = 1000 / tokensPerSecond;
    this.depthMs = burst * this.intervalMs;
  }

  take(key: string): number {
    const now = this.now();
    const was = this.fullAt.get(key);
    const next = (was === undefined || was < now ? now : was) + this.intervalMs;
    const ahead = next - now;
    // A hair of slack for floating point: burst takes from a full bucket always pass.
    if (ahead > this.depthMs + 1e-6) return ahead - this.depthMs;
    if (was === undefined && this.fullAt.size >= this.maxKeys) this.forget(now);
    this.fullAt.set(key, next);
    return 0;
  }

  get size(): number {
    return this.fullAt.size;
  }

  /**
   * A full bucket is the same as no entry, so those go first. If most keys
   * are busy (a flood of distinct keys), the oldest go too, down to 90%, so
   * the next sweep is many takes away: a forgotten busy key gets a full
   * bucket again, a leniency bounded by maxKeys.
   */
  private forget(now: number): void {
    for (const [k, t] of this.fullAt) if (t <= now) this.fullAt.delete(k);
    const target = Math.floor(this.maxKeys * 0.9);
    for (const k of this.fullAt.keys()) {
      if (this.fullAt.size <= target) break;
      this.fullAt.delete(k);
    }
  }
}
