import type { MessageInitShape } from "@bufbuild/protobuf";
import { timestampNow } from "@bufbuild/protobuf/wkt";
import type { ClusterSchema, EndpointSchema } from "../../gen/switchyard/admin/v1/admin_pb.js";
import type { Endpoint } from "../cluster/endpoint.js";
import { STATS_WINDOW_S, ratesOf } from "../cluster/endpoint-stats.js";
import { endpointState } from "../cluster/endpoint-state.js";
import type { Snapshot } from "../snapshot/snapshot.js";
import { BREAKER, type ClustersView, STATES } from "../admin/cluster-view.js";
import type { EndpointReport, WorkerReport } from "./messages.js";

type EndpointView = MessageInitShape<typeof EndpointSchema>;

/** Worst first. */
const BREAKER_ORDER: ReadonlyArray<EndpointReport["breaker"]> = ["open", "half-open", "closed"];

/**
 * ListClusters' answer for a process group: the primary's clusters and
 * endpoints (its config, discovery, drains and health checks) with what
 * every worker that answered learned from its calls. Rates add up; error
 * rates and percentiles come from the added counts and latency histograms
 * (never an average of percentiles); in-flight and ejections add up; the
 * breaker is the worst, with how many workers have it open.
 */
export function groupClustersView(s: Snapshot, reports: readonly WorkerReport[]): ClustersView {
  const byCluster = new Map<string, Array<Map<string, EndpointReport>>>();
  const rates = new Map<string, { retries: number; hedges: number }>();
  for (const r of reports) {
    for (const c of r.clusters) {
      const list = byCluster.get(c.name) ?? [];
      list.push(new Map(c.endpoints.map((e) => [e.address, e])));
      byCluster.set(c.name, list);
      const sum = rates.get(c.name) ?? { retries: 0, hedges: 0 };
      sum.retries += c.retriesPerSecond;
      sum.hedges += c.hedgesPerSecond;
      rates.set(c.name, sum);
    }
  }
  const clusters: Array<MessageInitShape<typeof ClusterSchema>> = [];
  for (const [name, { cluster }] of s.upstreams) {
    const workers = byCluster.get(name) ?? [];
    clusters.push({
      name,
      protocol: cluster.protocol,
      balancer: cluster.config.resilience.balancer,
      endpoints: cluster.endpoints.list.map((e) =>
        groupEndpointView(
          e,
          workers.flatMap((w) => w.get(e.address) ?? []),
        ),
      ),
      retriesPerSecond: rates.get(name)?.retries ?? 0,
      hedgesPerSecond: rates.get(name)?.hedges ?? 0,
    });
  }
  // A worker still starting has served nothing: it answers, but adds nothing.
  const workers = reports.filter((r) => r.state !== "starting").length;
  return { clusters, time: timestampNow(), windowSeconds: STATS_WINDOW_S, workers };
}

/** The primary's endpoint `e` with each worker's report of it (workers without it left out). */
export function groupEndpointView(e: Endpoint, reports: readonly EndpointReport[]): EndpointView {
  const stats = ratesOf(reports.map((r) => r.window));
  const breaker = BREAKER_ORDER.find((b) => reports.some((r) => r.breaker === b)) ?? "closed";
  const breakerOpenWorkers = reports.filter((r) => r.breaker !== "closed").length;
  const ejectedWorkers = reports.filter((r) => r.ejected).length;
  return {
    address: e.address,
    weight: e.weight,
    priority: e.priority,
    state: STATES[endpointState(e, { ejected: ejectedWorkers > 0, breakerOpen: breakerOpenWorkers > 0 })],
    inFlight: reports.reduce((n, r) => n + Math.max(r.inflight, 0), 0),
    callsPerSecond: stats.callsPerSecond,
    latencyP50Ms: stats.p50Ms,
    latencyP99Ms: stats.p99Ms,
    errorRate: stats.errorRate,
    breaker: BREAKER[breaker],
    ejectionCount: reports.reduce((n, r) => n + r.ejections, 0),
    drained: e.drained,
    // The primary's own reasons (drained, failing health checks) are every worker's.
    unavailableReason: e.unavailableReason() ?? workersReason(reports),
    breakerOpenWorkers,
    ejectedWorkers,
  };
}

/** The workers' reasons, each with on how many of them when not on all. */
function workersReason(reports: readonly EndpointReport[]): string {
  const counts = new Map<string, number>();
  for (const r of reports) if (r.unavailable) counts.set(r.unavailable, (counts.get(r.unavailable) ?? 0) + 1);
  return [...counts]
    .map(([why, n]) => (n === reports.length ? why : `${why} on ${n} of ${reports.length} workers`))
    .join("; ");
}

/** A report as GET /workers shows it: each endpoint's window as the rates it makes. */
export function reportJson(r: WorkerReport): unknown {
  return {
    ...r,
    clusters: r.clusters.map((c) => ({
      ...c,
      endpoints: c.endpoints.map(({ window, ...e }) => ({ ...e, ...ratesOf([window]) })),
    })),
  };
}
