import { defaultLimits, defaultOverload } from "../config/limits.js";
import { describe, expect, it } from "vitest";
import type { GatewayConfig } from "../config/types.js";
import { capturedLogger } from "../../test/helpers/log-capture.js";
import { Observability } from "./observability.js";
import { Tracing } from "./tracing.js";

function config(change: Partial<GatewayConfig> = {}): GatewayConfig {
  return {
    listeners: [{ port: 0, host: "127.0.0.1" }],
    limits: { ...defaultLimits(), maxMessageBytes: 1024 },
    overload: defaultOverload(),
    drainTimeoutMs: 100,
    descriptorSets: [],
    cors: { allowedOrigins: ["*"], allowCredentials: false },
    clusters: new Map(),
    routes: [],
    ...change,
  };
}

describe("Observability", () => {
  it("makes no observer when nothing observes calls: calls then pay nothing", () => {
    const o = new Observability(config({ logging: { level: "info", access: false } }), { endpointsNow: () => [] });
    expect(o.observer).toBeUndefined();
    expect(o.metrics).toBeUndefined();
  });

  it("collects metrics only when an admin listener will serve them, its own or its primary's", () => {
    const admin = { port: 0, host: "127.0.0.1" };
    const on = new Observability(config({ admin, metrics: { enabled: true } }), { endpointsNow: () => [] });
    expect(on.metrics).toBeDefined();
    expect(on.observer?.sinks).toEqual([on.metrics]);
    const noAdmin = new Observability(config({ metrics: { enabled: true } }), { endpointsNow: () => [] });
    expect(noAdmin.metrics).toBeUndefined();
    // A worker's config has no admin listener; its primary serves the group's /metrics.
    const worker = new Observability(config({ metrics: { enabled: true } }), {
      endpointsNow: () => [],
      metricsForPrimary: true,
    });
    expect(worker.metrics).toBeDefined();
    const off = new Observability(config({ metrics: { enabled: false } }), {
      endpointsNow: () => [],
      metricsForPrimary: true,
    });
    expect(off.metrics).toBeUndefined();
  });

  it("follows a reload's logging: level, and access lines on and off", () => {
    const { log } = capturedLogger();
    const o = new Observability(config(), { endpointsNow: () => [], log });
    expect(o.observer).toBeUndefined();
    o.reconfigure(config({ logging: { level: "debug", access: true } }));
    expect(log.level).toBe("debug");
    expect(o.observer?.sinks).toHaveLength(1);
    expect(o.observer?.wantsPeer).toBe(true);
    o.reconfigure(config({ logging: { level: "warn", access: false } }));
    expect(o.observer).toBeUndefined();
    expect(log.level).toBe("warn");
  });

  it("turns tracing on, changes and off with a reload, each time with a tracer of its own", async () => {
    const o = new Observability(config(), { endpointsNow: () => [] });
    const tracing = { endpoint: "http://127.0.0.1:1/v1/traces", sampleRatio: 1, serviceName: "a" };
    o.reconfigure(config({ tracing }));
    const first = o.observer!.sinks[0];
    expect(first).toBeInstanceOf(Tracing);
    expect(o.observer!.wantsPeer).toBe(true);
    o.reconfigure(config({ tracing }));
    expect(o.observer!.sinks[0]).toBe(first);
    o.reconfigure(config({ tracing: { ...tracing, sampleRatio: 0.5 } }));
    expect(o.observer!.sinks[0]).not.toBe(first);
    o.reconfigure(config());
    expect(o.observer).toBeUndefined();
    await o.close();
  });
});
