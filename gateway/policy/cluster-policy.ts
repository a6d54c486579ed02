import type { HedgingPolicyConfig, ResilienceConfig, RetryPolicyConfig } from "../config/types.js";
import { RetryBudget } from "./retry-budget.js";
import { LatencyWindow } from "./latency-window.js";
import { isSafeToRepeat } from "./idempotency.js";
import { AttemptRates } from "./attempt-rates.js";

/**
 * Everything the call policy keeps per cluster: the retry and hedging
 * settings, the retry budget and the per-method latency windows that
 * `hedgingDelay: auto` reads. The policy room owns this; the cluster room
 * knows nothing of it (docs/DESIGN.md, "Policy and cluster").
 *
 * A new snapshot makes a new ClusterPolicy, handing it the previous one's
 * state: latency windows and attempt rates always carry over, the budget's
 * counts when its settings did not change.
 */
export class ClusterPolicy {
  readonly retry: RetryPolicyConfig;
  /** undefined: hedging off. */
  readonly hedging: HedgingPolicyConfig | undefined;
  readonly idempotentMethods: readonly string[];
  /**
   * Whether calls record their latency: only `hedgingDelay: auto` reads the
   * windows, and recording costs a map lookup and a clock read per call.
   * After a reload turns it on, a method hedges at minDelay x 10 until its
   * window has MIN_LATENCY_SAMPLES, as on a fresh start.
   */
  readonly recordsLatency: boolean;
  readonly budget: RetryBudget;
  /** Retries and hedges per second, for the admin API; carried over like the latency windows. */
  readonly rates: AttemptRates;
  private readonly latency: Map<string, LatencyWindow>;
  private readonly budgetKey: string;

  constructor(config: ResilienceConfig, previous?: ClusterPolicy) {
    this.retry = config.retryPolicy;
    this.hedging = config.hedgingPolicy;
    this.idempotentMethods = config.idempotentMethods;
    this.recordsLatency = config.hedgingPolicy?.hedgingDelayMs === "auto";
    this.budgetKey = JSON.stringify(config.retryBudget);
    this.budget =
      previous && previous.budgetKey === this.budgetKey ? previous.budget : new RetryBudget(config.retryBudget);
    this.latency = previous?.latency ?? new Map();
    this.rates = previous?.rates ?? new AttemptRates();
  }

  latencyWindow(path: string): LatencyWindow {
    let w = this.latency.get(path);
    if (!w) {
      w = new LatencyWindow();
      // Paths come from clients (a prefix route matches anything): bound the map.
      if (this.latency.size < 1000) this.latency.set(path, w);
    }
    return w;
  }

  /** Whether a call to `path` may be sent again after it may have reached the upstream. */
  safeToRepeat(path: string, protoIdempotent: boolean): boolean {
    return isSafeToRepeat(path, protoIdempotent, this.idempotentMethods);
  }
}
