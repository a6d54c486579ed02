import type { RetryPolicyConfig } from "../config/types.js";

/**
 * Delay before retry number `retryNumber` (1-based), per gRPC A6:
 * uniformly random in [0, min(initialBackoff × multiplier^(n-1), maxBackoff)).
 *
 * Full jitter (random from zero, not around the bound) is what A6 and
 * grpc-go do: it spreads the retries of many clients that failed together
 * instead of sending them back in a synchronized wave.
 *
 * After a server pushback, grpc-go counts `retryNumber` again from 1; callers
 * that want the same should pass retries-since-last-pushback.
 */
export function retryBackoffMs(retryNumber: number, p: RetryPolicyConfig, random: () => number = Math.random): number {
  const n = Math.max(1, Math.floor(retryNumber));
  // For large n the power overflows to Infinity, which min() turns into the cap.
  const bound = Math.min(p.initialBackoffMs * p.backoffMultiplier ** (n - 1), p.maxBackoffMs);
  return random() * bound;
}
