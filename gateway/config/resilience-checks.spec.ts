import { describe, expect, it } from "vitest";
import { formatProblem } from "./problems.js";
import { checkResilience } from "./resilience-checks.js";

const check = (cluster: Record<string, unknown>) => checkResilience(["clusters", "echo"], cluster).map(formatProblem);

describe("checkResilience", () => {
  it("accepts the documented shapes, including lower-case codes and zero where it means something", () => {
    expect(
      check({
        slowStart: 0,
        circuitBreaker: { rollingWindow: "10s", resetTimeout: 5000 },
        retryPolicy: {
          initialBackoff: "25ms",
          maxBackoff: "25ms",
          retryableStatusCodes: ["unavailable", "CANCELED", "Internal"],
        },
        hedgingPolicy: { hedgingDelay: 0, minDelay: "0ms", nonFatalStatusCodes: ["UNAVAILABLE"] },
        healthCheck: { interval: "2s", timeout: "1s" },
        outlierDetection: { baseEjectionTime: "10s", maxEjectionTime: "10s", interval: "1s" },
      }),
    ).toEqual([]);
    expect(check({ hedgingPolicy: { hedgingDelay: "auto" }, circuitBreaker: false, retryPolicy: true })).toEqual([]);
  });

  it("refuses zero where it would mean a busy loop or instant failure", () => {
    expect(
      check({
        circuitBreaker: { rollingWindow: 0, resetTimeout: "0s" },
        retryPolicy: { initialBackoff: "0ms" },
        healthCheck: { interval: "0s", timeout: 0 },
        outlierDetection: { interval: "0s" },
      }),
    ).toEqual([
      "clusters.echo.circuitBreaker.rollingWindow: 0 must be greater than 0",
      'clusters.echo.circuitBreaker.resetTimeout: "0s" must be greater than 0',
      'clusters.echo.retryPolicy.initialBackoff: "0ms" must be greater than 0',
      'clusters.echo.healthCheck.interval: "0s" must be greater than 0',
      "clusters.echo.healthCheck.timeout: 0 must be greater than 0",
      'clusters.echo.outlierDetection.interval: "0s" must be greater than 0',
    ]);
  });

  it("checks duration magnitudes the schema pattern cannot see", () => {
    expect(check({ slowStart: "900h", hedgingPolicy: { hedgingDelay: "900h" } })).toEqual([
      'clusters.echo.slowStart: "900h" is longer than the maximum of 2147483647ms (about 24.8 days)',
      'clusters.echo.hedgingPolicy.hedgingDelay: "900h" is longer than the maximum of 2147483647ms (about 24.8 days)',
    ]);
  });

  it("names unknown status codes, suggesting the closest", () => {
    expect(
      check({
        retryPolicy: { retryableStatusCodes: ["unavailble", "TIMEOUT", "ok"] },
        hedgingPolicy: { nonFatalStatusCodes: ["INTERNL"] },
      }),
    ).toEqual([
      'clusters.echo.retryPolicy.retryableStatusCodes[0]: "unavailble" is not a gRPC status code (did you mean UNAVAILABLE?)',
      'clusters.echo.retryPolicy.retryableStatusCodes[1]: "TIMEOUT" is not a gRPC status code (expected e.g. UNAVAILABLE, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED)',
      'clusters.echo.retryPolicy.retryableStatusCodes[2]: "ok" is success, not a failure to act on',
      'clusters.echo.hedgingPolicy.nonFatalStatusCodes[0]: "INTERNL" is not a gRPC status code (did you mean INTERNAL?)',
    ]);
  });

  it("flags contradictory pairs only when both are written", () => {
    expect(
      check({
        retryPolicy: { initialBackoff: "2s", maxBackoff: "1s" },
        outlierDetection: { baseEjectionTime: "1m", maxEjectionTime: "30s" },
      }),
    ).toEqual([
      'clusters.echo.retryPolicy.maxBackoff: "1s" is shorter than initialBackoff ("2s")',
      'clusters.echo.outlierDetection.maxEjectionTime: "30s" is shorter than baseEjectionTime ("1m")',
    ]);
    // With the other left to its default, the runtime's min()/max() does what was meant.
    expect(check({ retryPolicy: { maxBackoff: "10ms" }, outlierDetection: { baseEjectionTime: "1h" } })).toEqual([]);
  });

  it("pairs hashOn with ring_hash and maglev, both ways", () => {
    expect(check({ balancer: "ring_hash", hashOn: { header: "x-user-id" } })).toEqual([]);
    expect(check({ balancer: "maglev", hashOn: { header: "x-user-id" } })).toEqual([]);
    expect(check({ balancer: "maglev" })).toEqual([
      "clusters.echo.balancer: maglev needs hashOn, the key to hash (e.g. hashOn: { header: x-user-id })",
    ]);
    expect(check({ hashOn: { header: "x-user-id" } })).toEqual([
      "clusters.echo.hashOn: is only used by balancer ring_hash or maglev, not weighted_round_robin (the default)",
    ]);
    expect(check({ balancer: "random", hashOn: { header: "x-user-id" } })).toEqual([
      "clusters.echo.hashOn: is only used by balancer ring_hash or maglev, not random",
    ]);
  });

  it("ignores shapes the schema rejects, without throwing", () => {
    for (const bad of [
      { retryPolicy: "x", hedgingPolicy: 5, circuitBreaker: [] },
      { retryPolicy: { retryableStatusCodes: "UNAVAILABLE" } },
      { retryPolicy: { retryableStatusCodes: [14, null, "14", "not-a-name"] } },
      { retryPolicy: { initialBackoff: "soon", maxBackoff: true } },
    ]) {
      expect(() => check(bad)).not.toThrow();
    }
    expect(check({ retryPolicy: { retryableStatusCodes: [14, null, "14", "not-a-name"] } })).toEqual([]);
  });
});
