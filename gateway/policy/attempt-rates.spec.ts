import { describe, expect, it } from "vitest";
import { AttemptRates } from "./attempt-rates.js";
import { STATS_WINDOW_S } from "../cluster/endpoint-stats.js";

describe("AttemptRates", () => {
  it("counts retries and hedges per second over the window, then forgets them", () => {
    let t = 5_000;
    const r = new AttemptRates(() => t);
    t += 2000;
    for (let i = 0; i < 10; i++) r.retried();
    for (let i = 0; i < 4; i++) r.hedged();
    expect(r.read()).toEqual({ retriesPerSecond: 5, hedgesPerSecond: 2 });
    t += (STATS_WINDOW_S + 1) * 1000;
    expect(r.read()).toEqual({ retriesPerSecond: 0, hedgesPerSecond: 0 });
  });
});
