// Slow start (Envoy's, with aggression 1 and min_weight_percent 10%): an
// endpoint that just appeared or just came back gets a reduced share of
// traffic that grows linearly to its full weight over the window, so cold
// caches, JITs and connection pools warm up on a trickle instead of a flood.

/** Share of weight an endpoint starts at; Envoy's default min_weight_percent. */
export const SLOW_START_MIN_FACTOR = 0.1;

/** Multiplier for an endpoint's weight `sinceMs` after it came up; 1 once `windowMs` has passed or when it is 0. */
export function slowStartFactor(sinceMs: number, windowMs: number): number {
  if (!(windowMs > 0) || sinceMs >= windowMs) return 1;
  return Math.max(SLOW_START_MIN_FACTOR, sinceMs / windowMs);
}
