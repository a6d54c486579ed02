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
 */
export function endpointState(e: Endpoint): EndpointStateName {
  if (e.isDraining) return "draining";
  if (e.health && !e.health.healthy) return "unhealthy";
  if (e.ejected) return "ejected";
  if (e.breaker.state !== "closed") return "breaker_open";
  return "healthy";
}
