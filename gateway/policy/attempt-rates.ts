import { SecondsRing } from "../cluster/seconds-ring.js";
import { STATS_WINDOW_S } from "../cluster/endpoint-stats.js";

/**
 * A cluster's retries and hedges per second over the last STATS_WINDOW_S
 * seconds, for the admin API: what the policy adds on top of the calls.
 * Kept by ClusterPolicy, carried across snapshots like its latency windows.
 */
export class AttemptRates {
  private readonly retries = new Uint32Array(STATS_WINDOW_S);
  private readonly hedges = new Uint32Array(STATS_WINDOW_S);
  private readonly ring: SecondsRing;

  constructor(private readonly now: () => number = () => performance.now()) {
    this.ring = new SecondsRing(
      STATS_WINDOW_S,
      (i) => {
        this.retries[i] = 0;
        this.hedges[i] = 0;
      },
      now,
    );
  }

  /** An attempt after the first that was not a hedge (transparent retries included). */
  retried(): void {
    this.retries[this.ring.slot(this.now())]++;
  }

  /** A hedged attempt started. */
  hedged(): void {
    this.hedges[this.ring.slot(this.now())]++;
  }

  read(): { retriesPerSecond: number; hedgesPerSecond: number } {
    this.ring.slot(this.now());
    let retries = 0;
    let hedges = 0;
    for (let i = 0; i < STATS_WINDOW_S; i++) {
      retries += this.retries[i]!;
      hedges += this.hedges[i]!;
    }
    const s = this.ring.coveredSeconds();
    return { retriesPerSecond: retries / s, hedgesPerSecond: hedges / s };
  }
}
