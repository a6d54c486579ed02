import type { Endpoint } from "./endpoint.js";

/** The one word for an endpoint's state that operators read (admin API, dashboard, metrics). */
export type EndpointStateName = "healthy" | "unhealthy" | "ejected" | "breaker_open" | "draining";

/**
 * The first that applies, most deliberate first: a drain is an operator's
 * decision, failed health checks are facts, an ejection is a statistical
 * guess, and a breaker that is open or half-open is still deciding.
 * "healthy" means it takes calls (it may still be at its in-flight cap).
 */
export function endpointState(e: Endpoint): EndpointStateName {
  if (e.isDraining) return "draining";
  if (e.health && !e.health.healthy) return "unhealthy";
  if (e.ejected) return "ejected";
  if (e.breaker.state !== "closed") return "breaker_open";
  return "healthy";
}
