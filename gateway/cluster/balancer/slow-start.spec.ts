import { describe, expect, it } from "vitest";
import { SLOW_START_MIN_FACTOR, slowStartFactor } from "./slow-start.js";

describe("slowStartFactor", () => {
  it("is 1 when slow start is off or over", () => {
    expect(slowStartFactor(0, 0)).toBe(1);
    expect(slowStartFactor(10_000, 10_000)).toBe(1);
    expect(slowStartFactor(60_000, 10_000)).toBe(1);
  });

  it("ramps linearly to 1 from a floor of 10%", () => {
    expect(slowStartFactor(0, 10_000)).toBe(SLOW_START_MIN_FACTOR);
    expect(slowStartFactor(500, 10_000)).toBe(0.1);
    expect(slowStartFactor(2_500, 10_000)).toBe(0.25);
    expect(slowStartFactor(5_000, 10_000)).toBe(0.5);
    expect(slowStartFactor(9_000, 10_000)).toBe(0.9);
  });

  it("never decreases over the window and never drops below the floor", () => {
    let last = 0;
    for (let t = -1_000; t <= 11_000; t += 100) {
      const f = slowStartFactor(t, 10_000);
      expect(f).toBeGreaterThanOrEqual(last);
      expect(f).toBeGreaterThanOrEqual(SLOW_START_MIN_FACTOR);
      last = f;
    }
  });
});
