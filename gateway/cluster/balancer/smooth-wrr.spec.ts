import { describe, expect, it } from "vitest";
import { pickSmoothWrr } from "./smooth-wrr.js";

describe("pickSmoothWrr", () => {
  it("picks each peer weight times per cycle, spread out", () => {
    const peers = [
      { name: "a", weight: 1, current: 0 },
      { name: "b", weight: 1, current: 0 },
      { name: "c", weight: 2, current: 0 },
    ];
    const seq = Array.from({ length: 8 }, () => pickSmoothWrr(peers)!.name);
    expect(seq.filter((n) => n === "c")).toHaveLength(4);
    expect(seq.filter((n) => n === "a")).toHaveLength(2);
    // Smooth: any window of sum(weights) consecutive picks has the exact shares.
    for (let i = 0; i + 4 <= seq.length; i++) expect(seq.slice(i, i + 4).filter((n) => n === "c")).toHaveLength(2);
  });

  it("returns undefined for no peers", () => {
    expect(pickSmoothWrr([])).toBeUndefined();
  });
});
