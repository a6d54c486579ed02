import { availableParallelism } from "node:os";
import type { GatewayConfig } from "../config/types.js";

/** How many workers `workers` means here: "auto" is one per core this process may use. */
export function workerCount(setting: number | "auto" | undefined, cores: number = availableParallelism()): number {
  if (setting === "auto") return Math.max(1, cores);
  return setting ?? 1;
}

/**
 * The config one of `n` workers serves. What the operator set as a limit for
 * the gateway stays a limit for the group:
 * - the retry budget's reserve (`minRetriesPerSecond`) is divided by n; its
 *   `percent` needs nothing, since each worker earns it on its own calls;
 * - the per-endpoint in-flight cap (`maxInFlight`) is divided by n, rounded up,
 *   as Envoy's cluster-wide circuit-breaker limits hold for all its workers.
 * Breakers, outlier detection and the latency windows stay per worker with
 * their settings as written (README, "Workers"). The admin listener is the
 * primary's.
 */
export function workerShare(config: GatewayConfig, n: number): GatewayConfig {
  const clusters = new Map(
    [...config.clusters].map(([name, c]) => {
      const r = c.resilience;
      const resilience = {
        ...r,
        retryBudget: { ...r.retryBudget, minRetriesPerSecond: r.retryBudget.minRetriesPerSecond / n },
        circuitBreaker: { ...r.circuitBreaker, maxInFlight: Math.ceil(r.circuitBreaker.maxInFlight / n) },
      };
      return [name, { ...c, resilience }];
    }),
  );
  const share: GatewayConfig = { ...config, clusters };
  delete share.admin;
  return share;
}
