import type { GatewayConfig } from "../config/types.js";
import type { UnhealthyEndpoint } from "../cluster/health-board.js";
import type { DiscoveredList } from "../discovery/relay.js";
import type { ReloadCounts, ReloadResult } from "../snapshot/reload.js";
import type { StatsWindow } from "../cluster/endpoint-stats.js";
import type { MetricObjectWithValues, MetricValue } from "prom-client";

// Everything the primary and its workers say to each other over node:cluster's
// IPC channel, in one place. The channel uses "advanced" serialization (the
// structured clone), so a GatewayConfig travels as it is: Maps, Uint8Arrays.
// Every type starts with "switchyard:", so other users of the channel
// (node:cluster's own) pass by untouched. The group's /metrics asks with its
// own message rather than prom-client's clusterMetrics(), so that a worker
// that does not answer in time leaves its last answer in place instead of
// failing the scrape (group-metrics.ts).

/** Primary -> worker. */
export type ToWorker =
  /** The first message: what the worker serves with, and what the primary knows so far. */
  | {
      type: "switchyard:start";
      /** This worker's number (node:cluster's worker.id), for its log lines. */
      worker: number;
      /** How many workers share the load: budgets and caps are divided by it (share.ts). */
      workers: number;
      /** As loaded and validated by the primary, before share.ts divides it. */
      config: GatewayConfig;
      discovered: DiscoveredList[];
      unhealthy: UnhealthyEndpoint[];
      /** The endpoints an operator drained (the admin API's DrainEndpoint), as the primary's endpoint sets hold them. */
      drained: DrainedEndpoint[];
      /** This Node and OS can share a port with SO_REUSEPORT (listener/reuse-port.ts): listeners with reusePort are the worker's to bind. */
      reusePort: boolean;
    }
  /** Serve this config from now on, as Gateway.reload() does; answered with `reloaded`. */
  | { type: "switchyard:reload"; seq: number; trigger: string; config: GatewayConfig }
  /** A discovery provider's new answer. */
  | { type: "switchyard:discovered"; list: DiscoveredList }
  /** The endpoints failing the primary's health checks now (the whole list, not a change). */
  | { type: "switchyard:health"; unhealthy: UnhealthyEndpoint[] }
  /** An operator's drain (on) or undrain (off) of one endpoint, for every worker; answered with `drained`. */
  | { type: "switchyard:drain"; seq: number; cluster: string; address: string; on: boolean }
  /** Asks for the worker's Prometheus registry as JSON; answered with `metrics`. */
  | { type: "switchyard:metrics"; seq: number }
  /** Asks for the worker's state; answered with `report`. */
  | { type: "switchyard:report"; seq: number }
  /** Comes with a client's socket, accepted by the primary for the listener called `listener` (listenerKeys); answered with `took`. */
  | { type: "switchyard:connection"; seq: number; listener: string };

/** Worker -> primary. */
export type ToPrimary =
  /** Listening for messages: the primary answers with `start` (one sent earlier could be lost). */
  | { type: "switchyard:hello" }
  /** Listening: every listener is open. */
  | { type: "switchyard:serving" }
  /** Could not start (a port it cannot bind, a certificate that does not load); it exits next. */
  | { type: "switchyard:failed"; message: string }
  | { type: "switchyard:reloaded"; seq: number; result: ReloadResult }
  | { type: "switchyard:report"; seq: number; report: WorkerReport }
  /** The worker's registry (getMetricsAsJSON), for the group's /metrics; undefined when it collects none (yet). */
  | { type: "switchyard:metrics"; seq: number; metrics: WorkerMetrics | undefined }
  /** Applied the drain of that seq: the endpoint as this worker now sees it (undefined: it has no such endpoint). */
  | { type: "switchyard:drained"; seq: number; endpoint: EndpointReport | undefined }
  /** Could not connect to an address discovery found: the primary's provider should look again. */
  | { type: "switchyard:nudge"; cluster: string }
  /** Has the socket of `connection` seq (or closed it, for a listener it no longer has): the primary's copy can go. */
  | { type: "switchyard:took"; seq: number };

/** prom-client's Registry.getMetricsAsJSON(), what AggregatorRegistry.aggregate() adds up. */
export type WorkerMetrics = MetricObjectWithValues<MetricValue<string>>[];

/** An endpoint an operator took out of service, by cluster and host:port. */
export interface DrainedEndpoint {
  cluster: string;
  address: string;
}

/**
 * A worker's state: what the primary's GET /workers shows, and what it adds
 * up for the admin API's group view (group-view.ts).
 */
export interface WorkerReport {
  worker: number;
  pid: number;
  /** ISO 8601. */
  startedAt: string;
  state: "starting" | "serving" | "draining";
  /** Calls in flight on this worker. */
  inflight: number;
  reloads: ReloadCounts;
  clusters: ClusterReport[];
}

export interface ClusterReport {
  name: string;
  /** This worker's own (policy/attempt-rates.ts): rates add up over workers. */
  retriesPerSecond: number;
  hedgesPerSecond: number;
  endpoints: EndpointReport[];
}

/** One endpoint as one worker sees it: health is the primary's, the rest is the worker's own. */
export interface EndpointReport {
  address: string;
  /** Why it takes no calls on this worker (failing health checks, ejected, breaker open, ...), or undefined. */
  unavailable?: string;
  breaker: "closed" | "open" | "half-open";
  inflight: number;
  /** Ejected by this worker's outlier detection now, and how many times it has been. */
  ejected: boolean;
  ejections: number;
  /** This worker's recent attempts as counts and a latency histogram, which add up where percentiles do not. */
  window: StatsWindow;
}

export function isToWorker(m: unknown): m is ToWorker {
  return isOurs(m);
}

export function isToPrimary(m: unknown): m is ToPrimary {
  return isOurs(m);
}

function isOurs(m: unknown): boolean {
  return (
    typeof m === "object" &&
    m !== null &&
    typeof (m as { type?: unknown }).type === "string" &&
    (m as { type: string }).type.startsWith("switchyard:")
  );
}
