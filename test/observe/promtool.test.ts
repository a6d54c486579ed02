import { afterEach, describe, expect, it } from "vitest";
import { checkMetrics } from "../helpers/promtool.js";
import { CLIENT_KINDS, echoClient } from "../helpers/clients.js";
import { startFixture, type Fixture } from "../helpers/gateway-fixture.js";
import { Code } from "../../gateway/call/status.js";

// Prometheus's own linter over a live scrape: `promtool check metrics` reads
// the exposition on stdin and exits non-zero on any problem (names, units,
// help texts, counters without _total, histogram shape...).

let f: Fixture | undefined;
afterEach(async () => {
  await f?.close();
  f = undefined;
});

describe("the /metrics exposition", () => {
  it("passes promtool check metrics after varied traffic", async () => {
    f = await startFixture({
      weights: [1, 1],
      priorities: [0, 1],
      config: { admin: { port: 0, host: "127.0.0.1" }, metrics: { enabled: true } },
      resilience: {
        hedgingPolicy: {
          maxAttempts: 2,
          hedgingDelayMs: 20,
          percentile: 95,
          minDelayMs: 0,
          nonFatalStatusCodes: [Code.UNAVAILABLE],
        },
      },
    });
    // Every protocol, a failure, retries, a hedge and a stream: every family has series.
    f.replicas[0].faults.latencyMs = 200;
    for (const kind of CLIENT_KINDS.slice(0, 4)) await echoClient(kind, f.url).echo({ message: "x" });
    const grpc = echoClient(CLIENT_KINDS[0], f.url);
    await grpc.echo({ message: "x" }, { headers: { "x-echo-fail": "not_found" } }).catch(() => {});
    for await (const _ of grpc.count({ count: 3, intervalMs: 0 })) void _;
    await f.gateway.reload("test", async () => f!.gateway.current().config);

    const text = await (await fetch(`http://127.0.0.1:${f.gateway.adminPort}/metrics`)).text();
    for (const family of [
      "grpc_server_handled_total",
      "grpc_server_handling_seconds_bucket",
      "switchyard_upstream_attempts_total",
      "switchyard_hedges_total",
      "switchyard_endpoint_state",
      "switchyard_config_reloads_total",
      "process_cpu_seconds_total",
    ])
      expect(text).toMatch(new RegExp(`^${family}[{ ]`, "m"));
    expect(checkMetrics(text)).toEqual({ status: 0, output: "" });
  });
});
