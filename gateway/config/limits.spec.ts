import { describe, expect, it } from "vitest";
import { normalizeConfig } from "./normalize.js";
import {
  defaultConnectionLimits,
  defaultLimits,
  defaultOverload,
  normalizeLimits,
  normalizeOverload,
} from "./limits.js";
import { readGatewaySchema } from "./schema.js";
import { validateConfigObject } from "./load.js";

const minimal = {
  listeners: [{ port: 8080 }],
  clusters: { echo: { protocol: "grpc" as const, endpoints: ["127.0.0.1:50051"] } },
  routes: [{ match: { prefix: "/" }, cluster: "echo" }],
};

describe("limits", () => {
  it("gives every default when nothing is set", () => {
    expect(normalizeLimits(undefined)).toEqual(defaultLimits());
    expect(normalizeOverload(undefined)).toEqual(defaultOverload());
    expect(normalizeOverload(true)).toEqual(defaultOverload());
    expect(normalizeOverload(false)).toEqual({ ...defaultOverload(), enabled: false });
  });

  it("converts durations; 0 turns a timeout off", () => {
    const l = normalizeLimits({ requestHeadersTimeout: "2s", idleTimeout: 0, streamIdleTimeout: "5m" });
    expect(l).toMatchObject({ requestHeadersTimeoutMs: 2000, idleTimeoutMs: 0, streamIdleTimeoutMs: 300_000 });
    expect(normalizeOverload({ maxEventLoopDelay: "250ms", retryPushback: "2s" })).toMatchObject({
      maxEventLoopDelayMs: 250,
      retryPushbackMs: 2000,
    });
  });

  it("a listener's own limits go over the top-level ones; a listener without any has none of its own", () => {
    const config = normalizeConfig(
      {
        ...minimal,
        listeners: [{ port: 8080, limits: { maxConnections: 50 } }, { port: 8081 }],
        limits: { maxConcurrentStreams: 10, idleTimeout: "5s" },
      },
      new Map(),
    );
    expect(config.listeners[0]!.limits).toEqual({
      ...defaultConnectionLimits(),
      maxConnections: 50,
      maxConcurrentStreams: 10,
      idleTimeoutMs: 5000,
    });
    expect("limits" in config.listeners[1]!).toBe(false);
    expect(config.limits).toMatchObject({ maxConcurrentStreams: 10, idleTimeoutMs: 5000, maxConnections: 10_000 });
  });

  it("refuses unknown keys, call-level keys on a listener, and values out of range, saying where", async () => {
    const problems = (extra: object) =>
      validateConfigObject({ ...minimal, ...extra }, ".").then(
        () => [],
        (err: { problems: string[] }) => err.problems,
      );
    expect(await problems({ limits: { maxConcurrentStreams: 0 } })).toEqual([
      "limits.maxConcurrentStreams: 0 must be between 1 and 2147483647",
    ]);
    expect((await problems({ limits: { idleTimeout: "soon" } }))[0]).toMatch(
      /^limits\.idleTimeout: "soon" is not a duration/,
    );
    expect((await problems({ limits: { maxConections: 5 } }))[0]).toMatch(
      /^limits\.maxConections: unknown key \(did you mean maxConnections\?\)/,
    );
    expect((await problems({ listeners: [{ port: 8080, limits: { maxJsonDepth: 5 } }] }))[0]).toMatch(
      /^listeners\[0\]\.limits\.maxJsonDepth: unknown key/,
    );
    expect(await problems({ overload: { maxHeapPercent: 120 } })).toEqual([
      "overload.maxHeapPercent: 120 must be between 0 and 100",
    ]);
    expect(await problems({ limits: { requestHeadersTimeout: "0s", streamIdleTimeout: 0 }, overload: false })).toEqual(
      [],
    );
  });

  it("the schema documents each default the gateway applies", () => {
    type Node = { default?: unknown; properties?: Record<string, Node> };
    const props = (readGatewaySchema() as { properties: Record<string, Node> }).properties;
    const limits = Object.fromEntries(Object.entries(props.limits!.properties!).map(([k, n]) => [k, n.default]));
    const overload = Object.fromEntries(Object.entries(props.overload!.properties!).map(([k, n]) => [k, n.default]));
    for (const [k, v] of Object.entries({ ...limits, ...overload })) expect(v, k).toBeDefined();
    expect(normalizeLimits(limits)).toEqual(defaultLimits());
    expect(normalizeOverload(overload)).toEqual(defaultOverload());
  });
});
