// Peak-EWMA latency estimate of one endpoint (Finagle's and Linkerd's
// "peak EWMA" load metric), the latency half of p2c_ewma's cost.
//
// - A sample above the estimate replaces it at once (the "peak"): a slowing
//   endpoint is avoided immediately, not after many samples.
// - A lower sample is blended in as estimate × w + sample × (1 − w), with
//   w = exp(−elapsed / decay) since the previous sample: recovery is gradual
//   and paced by time, however often samples arrive.
// - What `value` reports also relaxes toward the fresh-endpoint default
//   while no samples arrive, so an endpoint that P2C stopped choosing is
//   eventually tried again instead of being judged by one old spike forever.
//   (Finagle and tower decay toward 0; relaxing toward the default instead
//   keeps a long-idle endpoint from looking free and taking every call until
//   its first response is back.) The relaxation is not fed back into the
//   estimate, so under steady traffic the estimate is the latency itself.

/**
 * Estimate for an endpoint with no samples yet: small, so a new endpoint is
 * tried soon, but not 0, which would hide its in-flight count in the cost.
 */
export const DEFAULT_EWMA_MS = 1;

export class PeakEwma {
  private estimate = DEFAULT_EWMA_MS;
  private stamp: number;

  constructor(
    private readonly decayMs = 10_000,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.stamp = now();
  }

  observe(latencyMs: number): void {
    if (!Number.isFinite(latencyMs) || latencyMs < 0) return;
    const t = this.now();
    const w = this.keep(t);
    this.estimate = latencyMs > this.estimate ? latencyMs : this.estimate * w + latencyMs * (1 - w);
    this.stamp = Math.max(t, this.stamp);
  }

  /** Current estimate in ms, relaxed toward the default by the time since the last sample. */
  get value(): number {
    return DEFAULT_EWMA_MS + (this.estimate - DEFAULT_EWMA_MS) * this.keep(this.now());
  }

  /** Weight the estimate keeps after the time since the last sample. */
  private keep(t: number): number {
    if (this.decayMs <= 0) return 0;
    return Math.exp(-Math.max(t - this.stamp, 0) / this.decayMs);
  }
}
