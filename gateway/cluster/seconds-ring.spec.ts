import { describe, expect, it } from "vitest";
import { SecondsRing } from "./seconds-ring.js";

describe("SecondsRing", () => {
  it("clears exactly the slots whose seconds aged out", () => {
    let t = 10_500;
    const cleared: number[] = [];
    const ring = new SecondsRing(
      4,
      (i) => cleared.push(i),
      () => t,
    );
    const first = ring.slot(t);
    expect(cleared).toEqual([]);
    t += 1000;
    expect(ring.slot(t)).toBe((first + 1) % 4);
    expect(cleared).toEqual([(first + 1) % 4]);
    cleared.length = 0;
    t += 60_000; // far past the window: each slot once
    ring.slot(t);
    expect(cleared.sort()).toEqual([0, 1, 2, 3]);
  });

  it("keeps the current slot when the clock steps back", () => {
    let t = 50_000;
    const ring = new SecondsRing(
      4,
      () => {},
      () => t,
    );
    const s = ring.slot(t);
    t -= 5000;
    expect(ring.slot(t)).toBe(s);
  });

  it("covers only the time it has been alive, up to its length", () => {
    let t = 20_000;
    const ring = new SecondsRing(
      10,
      () => {},
      () => t,
    );
    t += 2500;
    expect(ring.coveredSeconds()).toBeCloseTo(2.5, 5);
    t += 60_000;
    expect(ring.coveredSeconds()).toBeCloseTo(9.5, 5);
  });
});
