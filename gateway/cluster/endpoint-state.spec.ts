import { afterEach, describe, expect, it } from "vitest";
import { Code } from "../call/status.js";
import { UpstreamError } from "../transport/contract.js";
import { EndpointSet } from "./endpoint-set.js";
import { endpointState } from "./endpoint-state.js";
import { clusterConfig, endpointAt as ep } from "../../test/helpers/cluster-config.js";

const sets: EndpointSet[] = [];
afterEach(async () => {
  await Promise.all(sets.splice(0).map((s) => s.close()));
});

function endpoints(n: number) {
  const config = clusterConfig(
    Array.from({ length: n }, (_, i) => ep(i + 1)),
    {},
  );
  config.resilience.circuitBreaker = { ...config.resilience.circuitBreaker, volumeThreshold: 2 };
  config.resilience.outlierDetection = { ...config.resilience.outlierDetection, maxEjectionPercent: 100 };
  const set = new EndpointSet(config);
  sets.push(set);
  return set.list;
}

describe("endpointState", () => {
  it("names healthy, ejected, breaker_open and draining endpoints", async () => {
    const [healthy, ejected, open, draining] = endpoints(4);
    for (let i = 0; i < 5; i++) {
      ejected.enter();
      ejected.leave(false, true);
    }
    const fail = () => Promise.reject(new UpstreamError(Code.UNAVAILABLE, "down", true));
    for (let i = 0; i < 3; i++) await open.breaker.run(fail, () => true).catch(() => {});
    void draining.drain();
    expect([healthy, ejected, open, draining].map(endpointState)).toEqual([
      "healthy",
      "ejected",
      "breaker_open",
      "draining",
    ]);
  });
});
