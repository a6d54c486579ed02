import { afterEach, describe, expect, it } from "vitest";
import { EndpointSet } from "./endpoint-set.js";
import { endpointState } from "./endpoint-state.js";
import { clusterConfig, endpointAt as ep } from "../../test/helpers/cluster-config.js";
import { defaultResilience } from "../config/resilience.js";

const sets: EndpointSet[] = [];
afterEach(async () => {
  await Promise.all(sets.splice(0).map((s) => s.close()));
});

describe("endpointState", () => {
  it("names the first that applies: draining, unhealthy, ejected, breaker_open, else healthy", async () => {
    const r = defaultResilience();
    r.healthCheck.enabled = false;
    r.circuitBreaker = { ...r.circuitBreaker, volumeThreshold: 1, errorThresholdPercentage: 50 };
    r.outlierDetection = { ...r.outlierDetection, consecutiveFailures: 1, maxEjectionPercent: 100 };
    const set = new EndpointSet(clusterConfig([ep(1)], { resilience: r }));
    sets.push(set);
    set.start();
    const e = set.get("127.0.0.1:1")!;
    expect(endpointState(e)).toBe("healthy");

    // A transport failure through the breaker opens it.
    await e.breaker
      .runChecked(
        () => Promise.reject(Object.assign(new Error("refused"), { code: 14 })),
        () => false,
        (err) => {
          throw err;
        },
      )
      .catch(() => {});
    expect(endpointState(e)).toBe("breaker_open");

    e.enter();
    e.leave(false, true); // one consecutive failure: ejected
    expect(e.ejected).toBe(true);
    expect(endpointState(e)).toBe("ejected");
    expect(e.outlier.ejections).toBe(1);

    set.setDrained(e.address, true);
    expect(endpointState(e)).toBe("draining");
  });

  it("with workers: drains and health from the endpoint (the primary's), ejection and breaker from the workers", () => {
    const r = defaultResilience();
    r.healthCheck.enabled = false;
    const set = new EndpointSet(clusterConfig([ep(1)], { resilience: r }));
    sets.push(set);
    const e = set.get("127.0.0.1:1")!;
    expect(endpointState(e, { ejected: false, breakerOpen: false })).toBe("healthy");
    expect(endpointState(e, { ejected: false, breakerOpen: true })).toBe("breaker_open");
    expect(endpointState(e, { ejected: true, breakerOpen: true })).toBe("ejected");
    set.setDrained(e.address, true);
    expect(endpointState(e, { ejected: true, breakerOpen: true })).toBe("draining");
  });
});
