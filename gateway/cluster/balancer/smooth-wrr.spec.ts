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
    // c never twice in a row with weights 1:1:2
    for (let i = 1; i < seq.length; i++) expect(seq[i] === "c" && seq[i - 1] === "c").toBe(false);
  });

  it("returns undefined for no peers", () => {
    expect(pickSmoothWrr([])).toBeUndefined();
  });
});
