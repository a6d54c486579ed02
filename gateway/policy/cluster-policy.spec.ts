import { describe, expect, it } from "vitest";
import { defaultResilience } from "../config/resilience.js";
import type { HedgingPolicyConfig } from "../config/types.js";
import { ClusterPolicy } from "./cluster-policy.js";

function policy(hedgingDelayMs: HedgingPolicyConfig["hedgingDelayMs"] | undefined, previous?: ClusterPolicy) {
  const r = defaultResilience();
  r.hedgingPolicy =
    hedgingDelayMs === undefined
      ? undefined
      : { maxAttempts: 2, hedgingDelayMs, nonFatalStatusCodes: [], percentile: 95, minDelayMs: 1 };
  return new ClusterPolicy(r, previous);
}

describe("ClusterPolicy", () => {
  it("has calls record their latency only where hedgingDelay: auto will read it", () => {
    expect(policy(undefined).recordsLatency).toBe(false);
    expect(policy(20).recordsLatency).toBe(false);
    const auto = policy("auto");
    expect(auto.recordsLatency).toBe(true);
    // A reload that turns it off and on again keeps what was recorded.
    auto.latencyWindow("/x.Y/Z").record(5);
    const again = policy("auto", policy(undefined, auto));
    expect(again.latencyWindow("/x.Y/Z").size).toBe(1);
  });
});
