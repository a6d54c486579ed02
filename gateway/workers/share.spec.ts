import { defaultLimits, defaultOverload } from "../config/limits.js";
import { describe, expect, it } from "vitest";
import { workerCount, workerShare } from "./share.js";
import type { GatewayConfig } from "../config/types.js";
import { clusterConfig, endpointAt } from "../../test/helpers/cluster-config.js";

function config(): GatewayConfig {
  const echo = clusterConfig([endpointAt(1)]);
  echo.resilience.retryBudget = { percent: 20, minRetriesPerSecond: 10 };
  echo.resilience.circuitBreaker.maxInFlight = 1001;
  return {
    listeners: [{ port: 8080, host: "0.0.0.0" }],
    admin: { port: 9901, host: "127.0.0.1" },
    limits: { ...defaultLimits(), maxMessageBytes: 1024 },
    overload: defaultOverload(),
    drainTimeoutMs: 1000,
    workers: 4,
    descriptorSets: [],
    cors: { allowedOrigins: ["*"], allowCredentials: false },
    clusters: new Map([["echo", echo]]),
    routes: [{ match: { prefix: "/" }, cluster: "echo" }],
  };
}

describe("workerCount", () => {
  it("auto is one per core; absent is one", () => {
    expect(workerCount("auto", 8)).toBe(8);
    expect(workerCount(3, 8)).toBe(3);
    expect(workerCount(undefined, 8)).toBe(1);
  });
});

describe("workerShare", () => {
  it("divides the budget's reserve and the in-flight cap, keeps the rest, and leaves the admin listener to the primary", () => {
    const whole = config();
    const share = workerShare(whole, 4);
    const r = share.clusters.get("echo")!.resilience;
    expect(r.retryBudget).toEqual({ percent: 20, minRetriesPerSecond: 2.5 });
    expect(r.circuitBreaker.maxInFlight).toBe(251);
    expect(r.circuitBreaker.volumeThreshold).toBe(
      whole.clusters.get("echo")!.resilience.circuitBreaker.volumeThreshold,
    );
    expect(share.admin).toBeUndefined();
    expect(share.listeners).toEqual(whole.listeners);
    // The primary's copy is untouched.
    expect(whole.clusters.get("echo")!.resilience.retryBudget.minRetriesPerSecond).toBe(10);
    expect(whole.admin).toBeDefined();
  });
});
