import { describe, expect, it } from "vitest";
import type { ClusterInput } from "./input.js";
import { defaultHedgingPolicy, defaultResilience, normalizeResilience } from "./resilience.js";
import { readGatewaySchema } from "./schema.js";

const base: ClusterInput = { protocol: "grpc", endpoints: ["a:1"] };
const norm = (extra: Partial<ClusterInput>) => normalizeResilience({ ...base, ...extra });

describe("normalizeResilience", () => {
  it("gives every default when nothing is set", () => {
    expect(norm({})).toEqual(defaultResilience());
    expect(norm({}).hedgingPolicy).toBeUndefined();
  });

  it("hands out fresh defaults each time, so one cluster cannot change another's", () => {
    const a = defaultResilience();
    a.retryPolicy.retryableStatusCodes.push(4);
    a.idempotentMethods.push("/a.B/C");
    expect(defaultResilience().retryPolicy.retryableStatusCodes).toEqual([14]);
    expect(defaultResilience().idempotentMethods).toEqual([]);
  });

  it("treats false as off (keeping the numbers), true and {} as on with defaults", () => {
    const d = defaultResilience();
    const off = norm({
      circuitBreaker: false,
      retryPolicy: false,
      healthCheck: false,
      outlierDetection: false,
      hedgingPolicy: false,
    });
    expect(off.circuitBreaker).toEqual({ ...d.circuitBreaker, enabled: false });
    expect(off.retryPolicy).toEqual({ ...d.retryPolicy, enabled: false });
    expect(off.healthCheck).toEqual({ ...d.healthCheck, enabled: false });
    expect(off.outlierDetection).toEqual({ ...d.outlierDetection, enabled: false });
    expect(off.hedgingPolicy).toBeUndefined();
    const on = norm({
      circuitBreaker: true,
      retryPolicy: {},
      healthCheck: true,
      outlierDetection: {},
      hedgingPolicy: true,
    });
    expect(on).toEqual({ ...d, hedgingPolicy: defaultHedgingPolicy() });
    expect(norm({ hedgingPolicy: {} }).hedgingPolicy).toEqual(defaultHedgingPolicy());
  });

  it("converts durations, including plain numbers as milliseconds", () => {
    const r = norm({
      slowStart: 0,
      circuitBreaker: { rollingWindow: "1m", resetTimeout: 1500 },
      retryPolicy: { initialBackoff: "100ms", maxBackoff: "2.5s" },
      hedgingPolicy: { hedgingDelay: "40ms", minDelay: 1 },
      healthCheck: { interval: "1m30s", timeout: "250ms" },
      outlierDetection: { baseEjectionTime: "1s", maxEjectionTime: "5s", interval: 100 },
    });
    expect(r.slowStartMs).toBe(0);
    expect(r.circuitBreaker).toMatchObject({ rollingWindowMs: 60_000, resetTimeoutMs: 1500 });
    expect(r.retryPolicy).toMatchObject({ initialBackoffMs: 100, maxBackoffMs: 2500 });
    expect(r.hedgingPolicy).toMatchObject({ hedgingDelayMs: 40, minDelayMs: 1 });
    expect(r.healthCheck).toMatchObject({ intervalMs: 90_000, timeoutMs: 250 });
    expect(r.outlierDetection).toMatchObject({ baseEjectionTimeMs: 1000, maxEjectionTimeMs: 5000, intervalMs: 100 });
    expect(norm({ hedgingPolicy: { hedgingDelay: "auto" } }).hedgingPolicy!.hedgingDelayMs).toBe("auto");
    expect(norm({ hedgingPolicy: { hedgingDelay: 0 } }).hedgingPolicy!.hedgingDelayMs).toBe(0);
  });

  it("turns status code names of either case into numbers, once each", () => {
    const r = norm({
      retryPolicy: { retryableStatusCodes: ["UNAVAILABLE", "unavailable", "deadline_exceeded", "CANCELED"] },
      hedgingPolicy: { nonFatalStatusCodes: [] },
    });
    expect(r.retryPolicy.retryableStatusCodes).toEqual([14, 4, 1]);
    expect(r.hedgingPolicy!.nonFatalStatusCodes).toEqual([]);
  });

  it("raises the default ejection cap to a longer base ejection time (as Envoy does)", () => {
    expect(norm({ outlierDetection: { baseEjectionTime: "10m" } }).outlierDetection.maxEjectionTimeMs).toBe(600_000);
    expect(norm({ outlierDetection: { baseEjectionTime: "1s" } }).outlierDetection.maxEjectionTimeMs).toBe(300_000);
  });

  it("reads the hash key's header in lower case, and the overprovisioning factor", () => {
    const r = norm({ balancer: "maglev", hashOn: { header: "X-User-Id" }, overprovisioningFactor: 2 });
    expect(r).toMatchObject({ balancer: "maglev", hashOn: { header: "x-user-id" }, overprovisioningFactor: 2 });
    expect(norm({})).toMatchObject({ hashOn: undefined, overprovisioningFactor: 1.4 });
  });

  it("keeps idempotent methods in order without repeats", () => {
    expect(norm({ idempotentMethods: ["/a.B/C", "/a.B/D", "/a.B/C"] }).idempotentMethods).toEqual(["/a.B/C", "/a.B/D"]);
  });

  it("refuses status codes that were not validated", () => {
    expect(() => norm({ retryPolicy: { retryableStatusCodes: ["NOPE"] } })).toThrow(/was not validated/);
  });
});

describe("schema defaults", () => {
  // The schema's `default`s are what editors show; they must say what the gateway does.
  it("match the defaults the gateway applies", () => {
    type Node = { default?: unknown; properties?: Record<string, Node> };
    const cluster = (readGatewaySchema() as { definitions: { cluster: Node } }).definitions.cluster.properties!;
    const resilienceKeys = Object.keys(cluster).filter(
      (k) =>
        ![
          "protocol",
          "http",
          "codec",
          "tls",
          "timeout",
          "connectTimeout",
          "endpoints",
          "discovery",
          "descriptors",
          "descriptorRefresh",
          "hashOn",
        ].includes(k),
    );
    const fromSchema: Record<string, unknown> = {};
    for (const key of resilienceKeys) {
      const node = cluster[key]!;
      const value = node.properties
        ? Object.fromEntries(Object.entries(node.properties).map(([k, n]) => [k, n.default]))
        : node.default;
      fromSchema[key] = value;
      // Every key documents its default.
      if (node.properties) for (const [k, v] of Object.entries(value as object)) expect(v, `${key}.${k}`).toBeDefined();
      else expect(value, key).toBeDefined();
    }
    const r = normalizeResilience({ ...base, ...(fromSchema as Partial<ClusterInput>) });
    // Hedging's sub-key defaults are documented even though the section itself is off by default.
    expect(r).toEqual({ ...defaultResilience(), hedgingPolicy: defaultHedgingPolicy() });
  });
});
