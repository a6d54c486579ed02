import { describe, expect, it } from "vitest";
import { closestMatch, editDistance } from "./suggest.js";

describe("editDistance", () => {
  it("counts insertions, deletions, substitutions and swaps as one edit", () => {
    expect(editDistance("protocol", "protocol")).toBe(0);
    expect(editDistance("protocl", "protocol")).toBe(1);
    expect(editDistance("protocols", "protocol")).toBe(1);
    expect(editDistance("protocal", "protocol")).toBe(1);
    expect(editDistance("porotcol", "protocol")).toBe(2);
    expect(editDistance("", "abc")).toBe(3);
  });
});

describe("closestMatch", () => {
  const keys = ["protocol", "http", "codec", "tls", "timeout", "endpoints"];

  it("suggests a plausible typo fix", () => {
    expect(closestMatch("protocl", keys)).toBe("protocol");
    expect(closestMatch("endpoint", keys)).toBe("endpoints");
    expect(closestMatch("Timeout", keys)).toBe("timeout");
  });

  it("stays quiet when nothing is close", () => {
    expect(closestMatch("weight", keys)).toBeUndefined();
    expect(closestMatch("x", keys)).toBeUndefined();
  });
});
