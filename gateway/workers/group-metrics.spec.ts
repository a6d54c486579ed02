import { describe, expect, it } from "vitest";
import { Gauge } from "prom-client";
import type { CallHead } from "../call/call.js";
import { Code } from "../call/status.js";
import { EndpointState } from "../../gen/switchyard/admin/v1/admin_pb.js";
import { GatewayMetrics } from "../observe/metrics.js";
import { Observer } from "../observe/observer.js";
import { parsePrometheusText, valueOf } from "../../test/helpers/prometheus-text.js";
import { GroupMetrics, workersSayOf } from "./group-metrics.js";
import type { WorkerMetrics } from "./messages.js";

const head: CallHead = {
  path: "/acme.echo.v1.EchoService/Echo",
  service: "acme.echo.v1.EchoService",
  method: "Echo",
  kind: "unary",
  codec: "proto",
  metadata: {},
  timeoutMs: undefined,
};

/** A worker's registry: `calls` OK calls handled, a reload counted, and a gauge at 5. */
function worker(calls: number): GatewayMetrics {
  const m = new GatewayMetrics(() => []);
  const obs = new Observer([m]);
  for (let i = 0; i < calls; i++) {
    const rec = obs.open("grpc", undefined);
    rec.begin(head, "method", "unary");
    rec.code = Code.OK;
    rec.end();
  }
  m.reloaded("reloaded");
  new Gauge({ name: "test_connections", help: "A gauge a worker has.", registers: [m.registry] }).set(5);
  return m;
}

/** A GroupMetrics over `own` and the workers in `answering` (by id), alive while in `alive`. */
function group(own: GatewayMetrics, answering: Map<number, GatewayMetrics | undefined>, alive: Set<number>) {
  return new GroupMetrics({
    own,
    ask: async () => {
      const out = new Map<number, WorkerMetrics | undefined>();
      for (const [id, m] of answering) out.set(id, m && (await m.registry.getMetricsAsJSON()));
      return out;
    },
    alive: () => alive,
    refresh: async () => {},
  });
}

const HANDLED = { grpc_method: "Echo", grpc_code: "OK" };

describe("GroupMetrics", () => {
  it("adds up the workers' registries and the primary's, each family the primary owns from the primary only", async () => {
    const own = new GatewayMetrics(() => []);
    own.reloaded("unchanged");
    const g = group(
      own,
      new Map([
        [1, worker(3)],
        [2, worker(4)],
      ]),
      new Set([1, 2]),
    );
    const s = parsePrometheusText((await g.scrape()).body);
    expect(valueOf(s, "grpc_server_handled_total", HANDLED)).toBe(7);
    expect(valueOf(s, "test_connections")).toBe(10);
    expect(valueOf(s, "switchyard_config_reloads_total", { result: "unchanged" })).toBe(1);
    expect(valueOf(s, "switchyard_config_reloads_total", { result: "reloaded" })).toBe(0);
    // One process_cpu_seconds_total for the group: the three registries' added up.
    expect(s.filter((x) => x.name === "process_cpu_seconds_total")).toHaveLength(1);
  });

  it("counts a worker that did not answer with its last answer, so counters do not dip", async () => {
    const one = worker(3);
    const answering = new Map<number, GatewayMetrics | undefined>([
      [1, one],
      [2, worker(4)],
    ]);
    const g = group(new GatewayMetrics(() => []), answering, new Set([1, 2]));
    await g.scrape();
    answering.set(2, undefined);
    const s = parsePrometheusText((await g.scrape()).body);
    expect(valueOf(s, "grpc_server_handled_total", HANDLED)).toBe(7);
    expect(valueOf(s, "test_connections")).toBe(10);
  });

  it("keeps an exited worker's counters and histograms, not its gauges", async () => {
    const answering = new Map<number, GatewayMetrics | undefined>([
      [1, worker(3)],
      [2, worker(4)],
    ]);
    const alive = new Set([1, 2]);
    const g = group(new GatewayMetrics(() => []), answering, alive);
    await g.scrape();
    // Worker 2 exits; worker 3 replaces it and serves 5 calls.
    alive.delete(2);
    answering.delete(2);
    alive.add(3);
    answering.set(3, worker(5));
    for (let i = 0; i < 2; i++) {
      const s = parsePrometheusText((await g.scrape()).body);
      expect(valueOf(s, "grpc_server_handled_total", HANDLED)).toBe(12);
      expect(valueOf(s, "grpc_server_handling_seconds_count", { grpc_method: "Echo" })).toBe(12);
      expect(valueOf(s, "test_connections")).toBe(10);
    }
  });
});

describe("workersSayOf", () => {
  it("reads each endpoint's workers' facts from the group view", () => {
    const say = workersSayOf({
      clusters: [
        {
          name: "a",
          endpoints: [
            { address: "h:1", state: EndpointState.EJECTED, ejectedWorkers: 1, unavailableReason: "ejected on 1 of 2" },
            { address: "h:2", breakerOpenWorkers: 0, unavailableReason: "" },
          ],
        },
      ],
      time: { seconds: 0n, nanos: 0 } as never,
      windowSeconds: 10,
    });
    expect(say("a", "h:1")).toEqual({ ejected: true, breakerOpen: false, up: false });
    expect(say("a", "h:2")).toEqual({ ejected: false, breakerOpen: false, up: true });
    expect(say("a", "h:3")).toBeUndefined();
    expect(say("b", "h:1")).toBeUndefined();
  });
});
