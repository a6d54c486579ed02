import type { Endpoint } from "./endpoint.js";

/** What an endpoint is doing now, as metrics and the admin view name it. */
export type EndpointStateName = "healthy" | "unhealthy" | "ejected" | "breaker_open" | "draining";

export const ENDPOINT_STATES: readonly EndpointStateName[] = [
  "healthy",
  "unhealthy",
  "ejected",
  "breaker_open",
  "draining",
];

/**
 * The one state that says most about why an endpoint takes calls or not,
 * in the order an operator acts on them: removed (draining), then down by
 * health checks, then out by outlier detection, then its breaker (open or
 * half-open). An endpoint at its in-flight cap is busy, not unhealthy.
 * With `workers` (the primary of `workers: N`), ejection and breaker are
 * what its workers say.
 */
export function endpointState(e: Endpoint, workers?: WorkerFacts): EndpointStateName {
  if (e.isDraining) return "draining";
  if (e.health && !e.health.healthy) return "unhealthy";
  if (workers ? workers.ejected : e.ejected) return "ejected";
  if (workers ? workers.breakerOpen : e.breaker.state !== "closed") return "breaker_open";
  return "healthy";
}

/**
 * With `workers: N`, what the workers learn from calls, for the primary's
 * endpoint (which has drains and health checks but serves no calls): whether
 * any worker has it ejected, or its breaker open or half-open.
 */
export interface WorkerFacts {
  ejected: boolean;
  breakerOpen: boolean;
}
