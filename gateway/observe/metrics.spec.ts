import { describe, expect, it } from "vitest";
import { Code } from "../call/status.js";
import type { CallHead } from "../call/call.js";
import { parsePrometheusText, valueOf } from "../../test/helpers/prometheus-text.js";
import { GatewayMetrics } from "./metrics.js";
import { EndpointSet } from "../cluster/endpoint-set.js";
import { clusterConfig, endpointAt } from "../../test/helpers/cluster-config.js";
import { Observer } from "./observer.js";

const head: CallHead = {
  path: "/acme.echo.v1.EchoService/Echo",
  service: "acme.echo.v1.EchoService",
  method: "Echo",
  kind: "unary",
  codec: "proto",
  metadata: {},
  timeoutMs: undefined,
};

async function samples(m: GatewayMetrics) {
  return parsePrometheusText((await m.scrape()).body);
}

describe("GatewayMetrics", () => {
  it("buckets call latencies cumulatively, with sum and count", async () => {
    const m = new GatewayMetrics(() => []);
    const obs = new Observer([m]);
    for (const ms of [1, 7, 30, 20_000]) {
      const rec = obs.open("grpc", undefined);
      rec.begin(head, "method", "unary");
      (rec as { startedAt: number }).startedAt = performance.now() - ms;
      rec.code = Code.OK;
      rec.end();
    }
    const s = await samples(m);
    const bucket = (le: string) => valueOf(s, "grpc_server_handling_seconds_bucket", { le });
    expect([bucket("0.005"), bucket("0.01"), bucket("0.05"), bucket("10"), bucket("+Inf")]).toEqual([1, 2, 3, 3, 4]);
    expect(valueOf(s, "grpc_server_handling_seconds_count")).toBe(4);
    expect(valueOf(s, "grpc_server_handling_seconds_sum")).toBeGreaterThan(20);
  });

  it("keeps one series per label set, whatever the number of calls", async () => {
    const m = new GatewayMetrics(() => []);
    const obs = new Observer([m]);
    for (let i = 0; i < 100; i++) {
      const rec = obs.open(i % 2 ? "connect" : "grpc", undefined);
      rec.begin({ ...head, path: `/x.Y/M${i}`, service: "x.Y", method: `M${i}` }, undefined, undefined);
      rec.cluster = "c";
      rec.attempt("h:1", "first", 0).end(i % 3 ? Code.OK : Code.UNAVAILABLE);
      rec.code = Code.OK;
      rec.end();
    }
    const s = await samples(m);
    expect(s.filter((x) => x.name === "grpc_server_started_total").map((x) => x.labels)).toEqual([
      { grpc_type: "unknown", grpc_service: "unknown", grpc_method: "unknown", protocol: "grpc" },
      { grpc_type: "unknown", grpc_service: "unknown", grpc_method: "unknown", protocol: "connect" },
    ]);
    expect(valueOf(s, "grpc_server_started_total")).toBe(100);
    expect(s.filter((x) => x.name === "switchyard_upstream_attempts_total")).toHaveLength(2);
    expect(valueOf(s, "switchyard_upstream_attempts_total", { grpc_code: "UNAVAILABLE", attempt: "first" })).toBe(34);
  });

  it("counts hedges by outcome and budget exhaustion per cluster", async () => {
    const m = new GatewayMetrics(() => []);
    const rec = new Observer([m]).open("grpc", undefined);
    rec.begin(head, "method", "unary");
    rec.cluster = "echo";
    rec.attempt("a:1", "hedge", 1).hedge("won");
    rec.attempt("b:1", "hedge", 2).end(Code.CANCELLED);
    rec.budgetExhausted();
    const s = await samples(m);
    expect(valueOf(s, "switchyard_hedges_total", { cluster: "echo", outcome: "won" })).toBe(1);
    expect(valueOf(s, "switchyard_hedges_total", { cluster: "echo", outcome: "cancelled" })).toBe(1);
    expect(valueOf(s, "switchyard_retry_budget_exhausted_total", { cluster: "echo" })).toBe(1);
  });

  it("counts discovery answers per cluster and result", async () => {
    const m = new GatewayMetrics(() => []);
    m.discoveryUpdate("echo", true);
    m.discoveryUpdate("echo", true);
    m.discoveryUpdate("echo", false);
    const s = await samples(m);
    expect(valueOf(s, "switchyard_discovery_updates_total", { cluster: "echo", result: "success" })).toBe(2);
    expect(valueOf(s, "switchyard_discovery_updates_total", { cluster: "echo", result: "failure" })).toBe(1);
  });

  it("with workers' facts (a primary), endpoint up and state are the group's", async () => {
    const set = new EndpointSet(clusterConfig([endpointAt(1), endpointAt(2), endpointAt(3)]));
    try {
      const facts = new Map([
        ["127.0.0.1:1", { ejected: false, breakerOpen: true, up: false }],
        ["127.0.0.1:2", { ejected: false, breakerOpen: false, up: true }],
      ]);
      set.setDrained("127.0.0.1:2", true);
      const m = new GatewayMetrics(
        () => [["echo", set.list]],
        (_cluster, address) => facts.get(address),
      );
      const s = await samples(m);
      const state = (port: number) =>
        s
          .filter((x) => x.name === "switchyard_endpoint_state" && x.labels.endpoint === `127.0.0.1:${port}` && x.value)
          .map((x) => x.labels.state);
      // The workers say its breaker is open; the primary's drain wins over the workers; none reported the third.
      expect([state(1), state(2), state(3)]).toEqual([["breaker_open"], ["draining"], ["healthy"]]);
      const up = (port: number) => valueOf(s, "switchyard_endpoint_up", { endpoint: `127.0.0.1:${port}` });
      expect([up(1), up(2), up(3)]).toEqual([0, 0, 1]);
    } finally {
      await set.close();
    }
  });
});
