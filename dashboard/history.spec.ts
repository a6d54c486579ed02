import { describe, expect, it } from "vitest";
import { HISTORY_POINTS, Series, niceMax, polylinePoints } from "./history.js";

describe("Series", () => {
  it("keeps the last five minutes of points and turns what is not a number into 0", () => {
    const s = new Series();
    for (let i = 0; i < HISTORY_POINTS + 50; i++) s.push(i);
    s.push(Number.NaN);
    expect(s.values.length).toBe(HISTORY_POINTS);
    expect(s.values[0]).toBe(51);
    expect(s.last).toBe(0);
  });
});

describe("polylinePoints", () => {
  it("puts the newest point at the right edge and scales values into the box", () => {
    expect(polylinePoints([0, 5, 10], 299, 12, 10)).toBe("297,11 298,6 299,1");
    expect(polylinePoints([], 100, 10, 1)).toBe("");
  });

  it("clamps values beyond the scale", () => {
    expect(polylinePoints([20, -3], 299, 12, 10)).toBe("298,1 299,11");
  });
});

describe("niceMax", () => {
  it("rounds the largest value up to 1, 2 or 5 times a power of ten", () => {
    expect(niceMax([0.3, 0.7])).toBe(1);
    expect(niceMax([13], [4])).toBe(20);
    expect(niceMax([420])).toBe(500);
    expect(niceMax([])).toBe(1);
  });
});
