import { describe, expect, it } from "vitest";
import type { GatewayConfigInput } from "./input.js";
import { normalizeConfig } from "./normalize.js";
import { defaultResilience } from "./resilience.js";
import { defaultLimits, defaultOverload } from "./limits.js";

const minimal: GatewayConfigInput = {
  listeners: [{ port: 8080 }],
  clusters: { echo: { protocol: "grpc", endpoints: ["127.0.0.1:50051"] } },
  routes: [{ match: { prefix: "/" }, cluster: "echo" }],
};

const bytes = (s: string) => new TextEncoder().encode(s);

describe("normalizeConfig", () => {
  it("fills in every default", () => {
    const config = normalizeConfig(minimal, new Map());
    expect(config).toEqual({
      listeners: [{ port: 8080, host: "0.0.0.0" }],
      limits: defaultLimits(),
      overload: defaultOverload(),
      drainTimeoutMs: 10_000,
      descriptorSets: [],
      cors: { allowedOrigins: ["*"], allowCredentials: false },
      clusters: new Map([
        [
          "echo",
          {
            name: "echo",
            protocol: "grpc",
            http: "2",
            codec: "proto",
            compression: "identity",
            connectTimeoutMs: 5000,
            endpoints: [{ address: "127.0.0.1:50051", host: "127.0.0.1", port: 50051, weight: 1, priority: 0 }],
            resilience: defaultResilience(),
          },
        ],
      ]),
      routes: [{ match: { prefix: "/" }, cluster: "echo" }],
      metrics: { enabled: false },
      logging: { level: "info", access: false },
    });
    expect("admin" in config).toBe(false);
    expect("tracing" in config).toBe(false);
  });

  it("turns metrics on with the admin listener, unless told not to", () => {
    expect(normalizeConfig({ ...minimal, admin: { port: 9901 } }, new Map()).metrics).toEqual({ enabled: true });
    const off = normalizeConfig({ ...minimal, admin: { port: 9901 }, metrics: { enabled: false } }, new Map());
    expect(off.metrics).toEqual({ enabled: false });
  });

  it("fills in tracing's defaults and the OTLP traces path", () => {
    const c = normalizeConfig({ ...minimal, tracing: { otlp: { endpoint: "http://127.0.0.1:4318" } } }, new Map());
    expect(c.tracing).toEqual({
      endpoint: "http://127.0.0.1:4318/v1/traces",
      sampleRatio: 1,
      serviceName: "switchyard",
    });
    const given = normalizeConfig(
      { ...minimal, tracing: { otlp: { endpoint: "https://otel.example:443/custom/path" }, sampleRatio: 0.25 } },
      new Map(),
    );
    expect(given.tracing).toMatchObject({ endpoint: "https://otel.example/custom/path", sampleRatio: 0.25 });
  });

  it("converts durations, http versions, endpoints and file contents", () => {
    const files = new Map([
      ["c.pem", bytes("CERT")],
      ["k.pem", bytes("KEY")],
      ["ca.pem", bytes("CA")],
      ["d.binpb", bytes("\x0a\x00")],
    ]);
    const config = normalizeConfig(
      {
        ...minimal,
        listeners: [
          { port: 8443, host: "::", tls: { cert: "c.pem", key: "k.pem", clientCa: "ca.pem", requireClientCert: true } },
        ],
        admin: { port: 9901 },
        drainTimeout: 2500,
        descriptorSets: ["d.binpb"],
        clusters: {
          web: {
            protocol: "grpc-web",
            http: 1.1,
            codec: "same",
            compression: "gzip",
            timeout: "1.5s",
            connectTimeout: "250ms",
            tls: { ca: "ca.pem", serverName: "web.internal" },
            endpoints: [{ address: "[::1]:9000", weight: 5 }],
          },
        },
        routes: [{ match: { method: "/a.B/C" }, cluster: "web", timeout: "2s" }],
      },
      files,
    );
    expect(config.listeners).toEqual([
      { port: 8443, host: "::", tls: { cert: "CERT", key: "KEY", clientCa: "CA", requireClientCert: true } },
    ]);
    expect(config.admin).toEqual({ port: 9901, host: "127.0.0.1" });
    expect(config.drainTimeoutMs).toBe(2500);
    expect(config.descriptorSets).toEqual([bytes("\x0a\x00")]);
    const web = config.clusters.get("web")!;
    expect(web).toMatchObject({
      http: "1.1",
      codec: "same",
      compression: "gzip",
      timeoutMs: 1500,
      connectTimeoutMs: 250,
    });
    expect(web.tls).toEqual({ ca: "CA", serverName: "web.internal", insecureSkipVerify: false });
    expect(web.endpoints).toEqual([{ address: "[::1]:9000", host: "::1", port: 9000, weight: 5, priority: 0 }]);
    expect(config.routes).toEqual([{ match: { method: "/a.B/C" }, cluster: "web", timeoutMs: 2000 }]);
  });

  it("fills in descriptorRefresh for descriptors: reflection, and leaves descriptors out otherwise", () => {
    const withReflection = (extra: object) =>
      normalizeConfig(
        { ...minimal, clusters: { echo: { ...minimal.clusters.echo!, descriptors: "reflection", ...extra } } },
        new Map(),
      ).clusters.get("echo")!.descriptors;
    expect(withReflection({})).toEqual({ from: "reflection", refreshMs: 60_000 });
    expect(withReflection({ descriptorRefresh: "5s" })).toEqual({ from: "reflection", refreshMs: 5000 });
    expect("descriptors" in normalizeConfig(minimal, new Map()).clusters.get("echo")!).toBe(false);
  });

  it("normalizes the resilience keys of each cluster", () => {
    const config = normalizeConfig(
      {
        ...minimal,
        clusters: {
          echo: {
            ...minimal.clusters.echo!,
            balancer: "p2c_ewma",
            retryPolicy: { maxBackoff: "2s" },
            healthCheck: false,
          },
        },
      },
      new Map(),
    );
    const r = config.clusters.get("echo")!.resilience;
    expect(r.balancer).toBe("p2c_ewma");
    expect(r.retryPolicy.maxBackoffMs).toBe(2000);
    expect(r.healthCheck.enabled).toBe(false);
    expect("extra" in config.clusters.get("echo")!).toBe(false);
  });

  it("keeps workers and reusePort only when they say something", () => {
    expect("workers" in normalizeConfig({ ...minimal, workers: 1 }, new Map())).toBe(false);
    expect(normalizeConfig({ ...minimal, workers: "auto" }, new Map()).workers).toBe("auto");
    expect(normalizeConfig({ ...minimal, workers: 3 }, new Map()).workers).toBe(3);
    const listeners = [
      { port: 1, reusePort: true },
      { port: 2, reusePort: false },
    ];
    expect(normalizeConfig({ ...minimal, listeners }, new Map()).listeners).toEqual([
      { port: 1, host: "0.0.0.0", reusePort: true },
      { port: 2, host: "0.0.0.0" },
    ]);
  });

  it("keeps cluster order as written", () => {
    const config = normalizeConfig(
      { ...minimal, clusters: { b: minimal.clusters.echo!, a: minimal.clusters.echo!, c: minimal.clusters.echo! } },
      new Map(),
    );
    expect([...config.clusters.keys()]).toEqual(["b", "a", "c"]);
  });

  it("refuses input whose files were not read", () => {
    expect(() => normalizeConfig({ ...minimal, descriptorSets: ["x"] }, new Map())).toThrow(/was not read/);
  });
});
