import { defaultLimits, defaultOverload } from "../config/limits.js";
import { afterEach, describe, expect, it } from "vitest";
import type { GatewayConfig } from "../config/types.js";
import { ClusterManager } from "../cluster/cluster-manager.js";
import { type StatsWindow, bucketOf } from "../cluster/endpoint-stats.js";
import { CurrentSnapshot } from "../snapshot/current.js";
import { BreakerState, EndpointState } from "../../gen/switchyard/admin/v1/admin_pb.js";
import { clusterConfig, endpointAt } from "../../test/helpers/cluster-config.js";
import type { EndpointReport, WorkerReport } from "./messages.js";
import { groupClustersView, reportJson } from "./group-view.js";

const A = "127.0.0.1:1";
const B = "127.0.0.1:2";

const managers: ClusterManager[] = [];
afterEach(async () => {
  await Promise.all(managers.splice(0).map((m) => m.close()));
});

/** The primary's snapshot: cluster "echo" of A and B. */
function primary(): CurrentSnapshot {
  const config: GatewayConfig = {
    listeners: [{ port: 0, host: "127.0.0.1" }],
    limits: { ...defaultLimits(), maxMessageBytes: 1024 },
    overload: defaultOverload(),
    drainTimeoutMs: 100,
    descriptorSets: [],
    cors: { allowedOrigins: [], allowCredentials: false },
    clusters: new Map([["echo", clusterConfig([endpointAt(1), endpointAt(2)])]]),
    routes: [{ match: { prefix: "/" }, cluster: "echo" }],
  };
  const clusters = new ClusterManager();
  managers.push(clusters);
  return new CurrentSnapshot(config, { clusters });
}

/** An endpoint as a worker reports it: `calls` attempts of `ms` each, over 10 s unless `window` says otherwise. */
function endpoint(
  address: string,
  calls: number,
  ms: number,
  change: Partial<EndpointReport> = {},
  window: Partial<StatsWindow> = {},
): EndpointReport {
  const latency = new Uint32Array(124);
  latency[bucketOf(ms)] = calls;
  return {
    address,
    breaker: "closed",
    inflight: 0,
    ejected: false,
    ejections: 0,
    window: { calls, errors: 0, cancels: 0, seconds: 10, latency, ...window },
    ...change,
  };
}

function worker(id: number, endpoints: EndpointReport[], retriesPerSecond = 0): WorkerReport {
  return {
    worker: id,
    pid: 1000 + id,
    startedAt: "2025-01-01T00:00:00.000Z",
    state: "serving",
    inflight: endpoints.reduce((n, e) => n + e.inflight, 0),
    reloads: { reloaded: 0, unchanged: 0, rejected: 0 },
    clusters: [{ name: "echo", retriesPerSecond, hedgesPerSecond: 0, endpoints }],
  };
}

describe("groupClustersView", () => {
  it("adds up rates, in-flight and ejections, and reads percentiles from the added histograms", () => {
    const s = primary().snapshot;
    // A: 980 attempts of 2 ms on worker 1 over 10 s; 20 of 800 ms, 5 failed, on worker 2 over its 5 s.
    const one = worker(1, [endpoint(A, 980, 2, { inflight: 3 }), endpoint(B, 10, 1)], 0.5);
    const two = worker(2, [
      endpoint(A, 20, 800, { inflight: 2, ejections: 1 }, { errors: 5, seconds: 5 }),
      endpoint(B, 10, 1),
    ]);
    const v = groupClustersView(s, [one, two]);
    expect(v.workers).toBe(2);
    expect(v.windowSeconds).toBe(10);
    const c = v.clusters[0]!;
    expect(c.retriesPerSecond).toBe(0.5);
    const [a, b] = c.endpoints as [Record<string, unknown>, Record<string, unknown>];
    expect(a).toMatchObject({ address: A, inFlight: 5, ejectionCount: 1, state: EndpointState.HEALTHY });
    expect(a.callsPerSecond).toBeCloseTo(98 + 4, 9);
    expect(a.errorRate).toBeCloseTo(5 / 1000, 9);
    // 2% of A's attempts took 800 ms: the group's p50 is a fast one and its p99 a slow one (an average of the
    // workers' percentiles would say about 400 ms for both).
    expect(a.latencyP50Ms).toBeLessThan(2 * 1.25);
    expect(a.latencyP99Ms).toBeGreaterThan(800 / 1.25);
    expect(a.latencyP99Ms).toBeLessThan(800 * 1.25);
    expect(b).toMatchObject({ address: B, callsPerSecond: 2, breaker: BreakerState.CLOSED, breakerOpenWorkers: 0 });
  });

  it("takes the worst breaker, counts the workers that have it open or ejected, and says on how many", () => {
    const s = primary().snapshot;
    const v = groupClustersView(s, [
      worker(1, [endpoint(A, 1, 1, { breaker: "half-open", unavailable: "circuit breaker open" }), endpoint(B, 1, 1)]),
      worker(2, [
        endpoint(A, 1, 1, { breaker: "open", unavailable: "circuit breaker open" }),
        endpoint(B, 1, 1, { ejected: true, ejections: 1, unavailable: "ejected as an outlier" }),
      ]),
      worker(3, [endpoint(A, 1, 1), endpoint(B, 1, 1)]),
    ]);
    const [a, b] = v.clusters[0]!.endpoints!;
    expect(a).toMatchObject({
      breaker: BreakerState.OPEN,
      breakerOpenWorkers: 2,
      state: EndpointState.BREAKER_OPEN,
      unavailableReason: "circuit breaker open on 2 of 3 workers",
    });
    expect(b).toMatchObject({
      breaker: BreakerState.CLOSED,
      ejectedWorkers: 1,
      state: EndpointState.EJECTED,
      unavailableReason: "ejected as an outlier on 1 of 3 workers",
    });
  });

  it("takes drains and health from the primary, whatever the workers report", () => {
    const cur = primary();
    cur.snapshot.upstreams.get("echo")!.cluster.endpoints.setDrained(A, true);
    const v = groupClustersView(cur.snapshot, [
      worker(1, [endpoint(A, 1, 1, { breaker: "open", unavailable: "circuit breaker open" })]),
    ]);
    const [a, b] = v.clusters[0]!.endpoints!;
    expect(a).toMatchObject({
      drained: true,
      state: EndpointState.DRAINING,
      unavailableReason: "drained by an operator",
      breakerOpenWorkers: 1,
    });
    // No worker reported B (a discovery update on its way): the primary's endpoint with zeros.
    expect(b).toMatchObject({ address: B, callsPerSecond: 0, latencyP99Ms: 0, state: EndpointState.HEALTHY });
  });

  it("answers with the primary's clusters and zeros when no worker answered", () => {
    const v = groupClustersView(primary().snapshot, []);
    expect(v.workers).toBe(0);
    expect(v.clusters[0]!.endpoints!.map((e) => [e.address, e.callsPerSecond, e.inFlight])).toEqual([
      [A, 0, 0],
      [B, 0, 0],
    ]);
  });
});

describe("reportJson", () => {
  it("shows each endpoint's window as its rates, for GET /workers", () => {
    const json = reportJson(worker(1, [endpoint(A, 20, 3)])) as WorkerReport;
    const e = json.clusters[0]!.endpoints[0] as unknown as Record<string, unknown>;
    expect(e.window).toBeUndefined();
    expect(e).toMatchObject({ address: A, callsPerSecond: 2, errorRate: 0 });
    expect(JSON.parse(JSON.stringify(json))).toEqual(json);
  });
});
