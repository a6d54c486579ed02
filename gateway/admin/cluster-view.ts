import type { MessageInitShape } from "@bufbuild/protobuf";
import { type Timestamp, timestampNow } from "@bufbuild/protobuf/wkt";
import {
  BreakerState,
  type ClusterSchema,
  type EndpointSchema,
  EndpointState,
  type RouteSchema,
} from "../../gen/switchyard/admin/v1/admin_pb.js";
import type { Endpoint } from "../cluster/endpoint.js";
import { type EndpointStateName, endpointState } from "../cluster/endpoint-state.js";
import { STATS_WINDOW_S } from "../cluster/endpoint-stats.js";
import type { RouteConfig } from "../config/types.js";
import type { Snapshot } from "../snapshot/snapshot.js";

export const STATES: Record<EndpointStateName, EndpointState> = {
  healthy: EndpointState.HEALTHY,
  unhealthy: EndpointState.UNHEALTHY,
  ejected: EndpointState.EJECTED,
  breaker_open: EndpointState.BREAKER_OPEN,
  draining: EndpointState.DRAINING,
};

export const BREAKER: Record<Endpoint["breaker"]["state"], BreakerState> = {
  closed: BreakerState.CLOSED,
  open: BreakerState.OPEN,
  "half-open": BreakerState.HALF_OPEN,
};

/** The fields ListClustersResponse and WatchClustersResponse share. */
export interface ClustersView {
  clusters: Array<MessageInitShape<typeof ClusterSchema>>;
  time: Timestamp;
  windowSeconds: number;
  /** With workers: how many answered for these numbers (workers/group-view.ts). */
  workers?: number;
}

/** ListClusters' answer (and each WatchClusters message): every cluster of the snapshot, its endpoints as they are now. */
export function clustersView(s: Snapshot): ClustersView {
  const clusters: Array<MessageInitShape<typeof ClusterSchema>> = [];
  for (const [name, { cluster, policy }] of s.upstreams) {
    const rates = policy.rates.read();
    clusters.push({
      name,
      protocol: cluster.protocol,
      balancer: cluster.config.resilience.balancer,
      endpoints: cluster.endpoints.list.map(endpointView),
      retriesPerSecond: rates.retriesPerSecond,
      hedgesPerSecond: rates.hedgesPerSecond,
    });
  }
  return { clusters, time: timestampNow(), windowSeconds: STATS_WINDOW_S };
}

export function endpointView(e: Endpoint): MessageInitShape<typeof EndpointSchema> {
  const r = e.stats.read();
  return {
    address: e.address,
    weight: e.weight,
    priority: e.priority,
    state: STATES[endpointState(e)],
    inFlight: Math.max(e.inflight, 0),
    callsPerSecond: r.callsPerSecond,
    latencyP50Ms: r.p50Ms,
    latencyP99Ms: r.p99Ms,
    errorRate: r.errorRate,
    breaker: BREAKER[e.breaker.state],
    ejectionCount: e.outlier.ejections,
    drained: e.drained,
    unavailableReason: e.unavailableReason() ?? "",
  };
}

export function routeView(r: RouteConfig): MessageInitShape<typeof RouteSchema> {
  const m = r.match;
  const match =
    "service" in m
      ? ({ case: "service", value: m.service } as const)
      : "method" in m
        ? ({ case: "method", value: m.method } as const)
        : ({ case: "prefix", value: m.prefix } as const);
  return { match, cluster: r.cluster, timeoutMs: BigInt(Math.round(r.timeoutMs ?? 0)) };
}
