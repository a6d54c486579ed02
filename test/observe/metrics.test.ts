import { afterEach, describe, expect, it } from "vitest";
import { Code as ConnectCode } from "@connectrpc/connect";
import { CLIENT_KINDS, echoClient } from "../helpers/clients.js";
import { startFixture, type Fixture, type FixtureOptions } from "../helpers/gateway-fixture.js";
import { h2Request, envelope } from "../helpers/raw.js";
import { parsePrometheusText, samplesOf, valueOf, type Sample } from "../helpers/prometheus-text.js";
import { Code } from "../../gateway/call/status.js";

// Metrics as Prometheus scrapes them: real calls through a real gateway to
// real demo replicas, then GET /metrics on the admin listener.

const ECHO = { grpc_service: "acme.echo.v1.EchoService", grpc_method: "Echo", grpc_type: "unary" };
const ADMIN = { admin: { port: 0, host: "127.0.0.1" }, metrics: { enabled: true } };

let f: Fixture | undefined;
afterEach(async () => {
  await f?.close();
  f = undefined;
});

async function start(opts: FixtureOptions = {}): Promise<Fixture> {
  f = await startFixture({ ...opts, config: { ...ADMIN, ...opts.config } });
  return f;
}

async function scrape(fx: Fixture): Promise<Sample[]> {
  const res = await fetch(`http://127.0.0.1:${fx.gateway.adminPort}/metrics`);
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
  return parsePrometheusText(await res.text());
}

const grpcKind = CLIENT_KINDS.find((k) => k.name === "grpc proto h2")!;
const connectKind = CLIENT_KINDS.find((k) => k.name === "connect json h1")!;
const webKind = CLIENT_KINDS.find((k) => k.name === "grpc-web proto h2")!;

describe("metrics on the admin listener", () => {
  it("counts N calls as N started and handled, per protocol, with their messages and latencies", async () => {
    const fx = await start({ weights: [1, 1] });
    const before = await scrape(fx);
    expect(valueOf(before, "grpc_server_handled_total")).toBe(0);
    const N = 12;
    for (const kind of [grpcKind, connectKind, webKind]) {
      const client = echoClient(kind, fx.url);
      for (let i = 0; i < N; i++) await client.echo({ message: `m${i}` });
    }
    const s = await scrape(fx);
    for (const protocol of ["grpc", "connect", "grpc_web"]) {
      const labels = { ...ECHO, protocol };
      expect(valueOf(s, "grpc_server_started_total", labels)).toBe(N);
      expect(valueOf(s, "grpc_server_handled_total", { ...labels, grpc_code: "OK" })).toBe(N);
      expect(valueOf(s, "grpc_server_msg_received_total", labels)).toBe(N);
      expect(valueOf(s, "grpc_server_msg_sent_total", labels)).toBe(N);
      expect(valueOf(s, "grpc_server_handling_seconds_count", labels)).toBe(N);
      expect(valueOf(s, "grpc_server_handling_seconds_bucket", { ...labels, le: "+Inf" })).toBe(N);
    }
    // Every call's one attempt, spread over both replicas, each a first attempt that ended OK.
    const attempts = samplesOf(s, "switchyard_upstream_attempts_total", { cluster: "echo" });
    expect(attempts.every((a) => a.labels.attempt === "first" && a.labels.grpc_code === "OK")).toBe(true);
    expect(attempts.map((a) => a.labels.endpoint).sort()).toEqual(fx.replicas.map((r) => r.address).sort());
    expect(valueOf(s, "switchyard_upstream_attempts_total")).toBe(3 * N);
    expect(valueOf(s, "switchyard_upstream_attempt_duration_seconds_count", { cluster: "echo" })).toBe(3 * N);
    // A failed call is handled with its code.
    const err = await echoClient(grpcKind, fx.url)
      .echo({ message: "x" }, { headers: { "x-echo-fail": "not_found" } })
      .catch((e: unknown) => e);
    expect((err as { code?: number }).code).toBe(ConnectCode.NotFound);
    const after = await scrape(fx);
    expect(valueOf(after, "grpc_server_handled_total", { ...ECHO, protocol: "grpc", grpc_code: "NOT_FOUND" })).toBe(1);
  });

  it("a retried call is handled once and makes two attempts, first then retry", async () => {
    // r1 is the only primary and fails every call; r2 is a standby, so the
    // first attempt goes to r1 and its retry to r2.
    const fx = await start({ weights: [1, 1], priorities: [0, 1] });
    fx.replicas[0].faults.errorRate = 1;
    await echoClient(grpcKind, fx.url).echo({ message: "again" });
    const s = await scrape(fx);
    expect(valueOf(s, "grpc_server_handled_total", { ...ECHO, protocol: "grpc" })).toBe(1);
    expect(valueOf(s, "grpc_server_handled_total", { ...ECHO, protocol: "grpc", grpc_code: "OK" })).toBe(1);
    const attempts = samplesOf(s, "switchyard_upstream_attempts_total").map((a) => ({ ...a.labels, n: a.value }));
    expect(attempts).toEqual(
      expect.arrayContaining([
        {
          cluster: "echo",
          endpoint: fx.replicas[0].address,
          grpc_code: "UNAVAILABLE",
          attempt: "first",
          n: 1,
        },
        { cluster: "echo", endpoint: fx.replicas[1].address, grpc_code: "OK", attempt: "retry", n: 1 },
      ]),
    );
    expect(attempts).toHaveLength(2);
  });

  it("a hedge that wins counts as won; the first attempt it beat is cancelled", async () => {
    const fx = await start({
      weights: [1, 1],
      priorities: [0, 1],
      resilience: {
        hedgingPolicy: {
          maxAttempts: 2,
          hedgingDelayMs: 50,
          percentile: 95,
          minDelayMs: 0,
          nonFatalStatusCodes: [Code.UNAVAILABLE],
        },
      },
    });
    fx.replicas[0].faults.latencyMs = 3000;
    const res = await echoClient(grpcKind, fx.url).echo({ message: "race" });
    expect(res.replica).toBe("r2");
    const s = await scrape(fx);
    expect(valueOf(s, "switchyard_hedges_total", { cluster: "echo", outcome: "won" })).toBe(1);
    expect(valueOf(s, "switchyard_hedges_total", { cluster: "echo", outcome: "lost" })).toBe(0);
    expect(valueOf(s, "grpc_server_handled_total", { ...ECHO, grpc_code: "OK" })).toBe(1);
    expect(
      valueOf(s, "switchyard_upstream_attempts_total", {
        endpoint: fx.replicas[1].address,
        attempt: "hedge",
        grpc_code: "OK",
      }),
    ).toBe(1);
    expect(
      valueOf(s, "switchyard_upstream_attempts_total", {
        endpoint: fx.replicas[0].address,
        attempt: "first",
        grpc_code: "CANCELLED",
      }),
    ).toBe(1);
  });

  it("labels calls to methods the gateway cannot name as unknown, so a scanner cannot mint series", async () => {
    const fx = await start();
    const call = (path: string) =>
      h2Request(
        fx.url,
        { ":path": path, "content-type": "application/grpc", te: "trailers" },
        envelope(0, new Uint8Array(0)),
      );
    for (let i = 0; i < 5; i++) {
      const res = await call(`/scan${i}.Svc/Probe${i}`);
      expect(res.trailers["grpc-status"] ?? res.headers["grpc-status"]).toBe(String(Code.UNIMPLEMENTED));
    }
    // A route names the service, so the service is kept; the method is not known.
    const res = await call("/acme.echo.v1.EchoService/NoSuchMethod");
    expect(res.trailers["grpc-status"] ?? res.headers["grpc-status"]).toBe(String(Code.UNIMPLEMENTED));
    const s = await scrape(fx);
    const handled = samplesOf(s, "grpc_server_handled_total");
    expect(handled.map((h) => [h.labels.grpc_service, h.labels.grpc_method, h.labels.grpc_code, h.value])).toEqual(
      expect.arrayContaining([
        ["unknown", "unknown", "UNIMPLEMENTED", 5],
        ["acme.echo.v1.EchoService", "unknown", "UNIMPLEMENTED", 1],
      ]),
    );
    expect(handled).toHaveLength(2);
    expect(s.some((x) => Object.values(x.labels).some((v) => v.startsWith("scan") || v.startsWith("Probe")))).toBe(
      false,
    );
  });

  it("gives each endpoint's state, up and in-flight at scrape time, and Node's process metrics", async () => {
    const fx = await start({ weights: [1, 1] });
    // Drained in place (as an operator's drain does), so it stays listed.
    await fx.gateway.clusters.endpointSet("echo")!.get(fx.replicas[1].address)!.drain();
    const s = await scrape(fx);
    const [a, b] = fx.replicas.map((r) => r.address);
    // One is draining (takes no calls), the other healthy and up; nothing in flight.
    expect(samplesOf(s, "switchyard_endpoint_up").map((x) => [x.labels.endpoint, x.value])).toEqual([
      [a, 1],
      [b, 0],
    ]);
    expect(valueOf(s, "switchyard_endpoint_state", { endpoint: a, state: "healthy" })).toBe(1);
    expect(valueOf(s, "switchyard_endpoint_state", { endpoint: b, state: "draining" })).toBe(1);
    for (const e of [a, b]) {
      expect(valueOf(s, "switchyard_endpoint_state", { endpoint: e })).toBe(1);
      expect(samplesOf(s, "switchyard_endpoint_state", { endpoint: e })).toHaveLength(5);
      expect(valueOf(s, "switchyard_endpoint_inflight", { endpoint: e })).toBe(0);
    }
    expect(valueOf(s, "process_cpu_seconds_total")).toBeGreaterThan(0);
    expect(samplesOf(s, "nodejs_heap_size_used_bytes")).toHaveLength(1);
  });

  it("shows a breaker that opened and an endpoint with calls in flight", async () => {
    const fx = await start({
      weights: [1, 1],
      resilience: {
        circuitBreaker: {
          enabled: true,
          errorThresholdPercentage: 50,
          volumeThreshold: 2,
          rollingWindowMs: 10_000,
          resetTimeoutMs: 60_000,
          maxInFlight: 1000,
        },
      },
    });
    const [bad, good] = fx.replicas;
    bad.faults.errorRate = 1;
    const client = echoClient(grpcKind, fx.url);
    for (let i = 0; i < 6; i++) await client.echo({ message: "x" });
    good.faults.latencyMs = 2000;
    const slow = client.echo({ message: "slow" });
    let s = await scrape(fx);
    for (let i = 0; i < 50 && valueOf(s, "switchyard_endpoint_inflight", { endpoint: good.address }) === 0; i++) {
      await new Promise((r) => setTimeout(r, 20));
      s = await scrape(fx);
    }
    expect(valueOf(s, "switchyard_endpoint_state", { endpoint: bad.address, state: "breaker_open" })).toBe(1);
    expect(valueOf(s, "switchyard_endpoint_up", { endpoint: bad.address })).toBe(0);
    expect(valueOf(s, "switchyard_endpoint_inflight", { endpoint: good.address })).toBe(1);
    await slow;
  });

  it("counts reloads by result", async () => {
    const fx = await start();
    const s0 = await scrape(fx);
    expect(samplesOf(s0, "switchyard_config_reloads_total").map((x) => [x.labels.result, x.value])).toEqual([
      ["reloaded", 0],
      ["unchanged", 0],
      ["rejected", 0],
    ]);
    await fx.gateway.reload("test", async () => fx.gateway.current().config);
    await fx.gateway.reload("test", async () => {
      throw new Error("broken file");
    });
    const s = await scrape(fx);
    expect(valueOf(s, "switchyard_config_reloads_total", { result: "unchanged" })).toBe(1);
    expect(valueOf(s, "switchyard_config_reloads_total", { result: "rejected" })).toBe(1);
  });

  it("serves no /metrics when metrics are off, and costs calls nothing: no observer at all", async () => {
    const fx = await start({ config: { admin: { port: 0, host: "127.0.0.1" }, metrics: { enabled: false } } });
    const res = await fetch(`http://127.0.0.1:${fx.gateway.adminPort}/metrics`);
    expect(res.status).toBe(404);
    expect(fx.gateway.observability.observer).toBeUndefined();
    await echoClient(grpcKind, fx.url).echo({ message: "still works" });
  });
});
