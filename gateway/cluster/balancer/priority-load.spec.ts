import { describe, expect, it } from "vitest";
import { chooseLevel, levelHealth, priorityLoad } from "./priority-load.js";

/** Loads for levels given as healthy percents of 100 endpoints each. */
const loads = (...healthyPercents: number[]) => priorityLoad(healthyPercents.map((p) => levelHealth(p, 100, 1.4)));

describe("priority levels (Envoy's arithmetic)", () => {
  it("matches Envoy's published table: P0 at 100/72/71/50/25/0% healthy, P1 fully healthy", () => {
    expect(loads(100, 100)).toEqual([100, 0]);
    expect(loads(72, 100)).toEqual([100, 0]);
    expect(loads(71, 100)).toEqual([99, 1]);
    expect(loads(50, 100)).toEqual([70, 30]);
    expect(loads(25, 100)).toEqual([35, 65]);
    expect(loads(0, 100)).toEqual([0, 100]);
  });

  it("normalizes when the levels together cannot take everything (Envoy's second table)", () => {
    expect(loads(72, 72)).toEqual([100, 0]);
    expect(loads(71, 71)).toEqual([99, 1]);
    expect(loads(50, 50)).toEqual([70, 30]);
    expect(loads(25, 25)).toEqual([50, 50]);
  });

  it("follows three levels, each taking its normalized share until the ones above reach 100", () => {
    expect(loads(100, 100, 100)).toEqual([100, 0, 0]);
    expect(loads(50, 50, 100)).toEqual([70, 30, 0]);
    expect(loads(25, 100, 100)).toEqual([35, 65, 0]);
    expect(loads(25, 25, 100)).toEqual([35, 35, 30]);
    // Health 35, 35, 28 (98 in all): floors give 35, 35, 28 and the 2 left go to P0.
    expect(loads(25, 25, 20)).toEqual([37, 35, 28]);
  });

  it("counts endpoints, so two primaries with one down send 30% to the standby", () => {
    expect(priorityLoad([levelHealth(1, 2, 1.4), levelHealth(2, 2, 1.4)])).toEqual([70, 30]);
    expect(priorityLoad([levelHealth(0, 2, 1.4), levelHealth(2, 2, 1.4)])).toEqual([0, 100]);
  });

  it("reads the factor: 1 spills at the first unhealthy endpoint, a larger one holds longer", () => {
    expect(levelHealth(9, 10, 1)).toBe(90);
    expect(levelHealth(5, 10, 2)).toBe(100);
    expect(levelHealth(4, 10, 2)).toBe(80);
  });

  it("is all zeros when nothing is healthy, and sums to 100 otherwise", () => {
    expect(priorityLoad([0, 0])).toEqual([0, 0]);
    expect(priorityLoad([])).toEqual([]);
    for (let a = 0; a <= 100; a += 7)
      for (let b = 0; b <= 100; b += 11) {
        const l = priorityLoad([a, b, 13]);
        expect(l.reduce((x, y) => x + y, 0)).toBe(100);
      }
  });

  it("chooses levels in proportion to their load", () => {
    const load = [70, 30];
    const counts = [0, 0];
    for (let r = 0; r < 100; r++) counts[chooseLevel(load, r)]!++;
    expect(counts).toEqual([70, 30]);
    expect(chooseLevel([0, 100], 0)).toBe(1);
    expect(chooseLevel([100, 0], 99)).toBe(0);
  });
});
