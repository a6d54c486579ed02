import type { Endpoint } from "./endpoint.js";

/** The one word for an endpoint's state that operators read (admin API, dashboard, metrics). */
export type EndpointStateName = "healthy" | "unhealthy" | "ejected" | "breaker_open" | "draining";

/**
 * The first that applies, most deliberate first: a drain is an operator's
 * decision, failed health checks are facts, an ejection is a statistical
 * guess, and a breaker that is open or half-open is still deciding.
 * "healthy" means it takes calls (it may still be at its in-flight cap).
 * With `workers`, ejection and breaker come from the workers.
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
