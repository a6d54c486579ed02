import { describe, expect, it } from "vitest";
import { jsonDeeperThan } from "./json-depth.js";

const b = (s: string) => Buffer.from(s);

describe("jsonDeeperThan", () => {
  it("counts objects and arrays, not brackets in strings or escapes", () => {
    expect(jsonDeeperThan(b('{"a":[{"b":1}]}'), 3)).toBe(false);
    expect(jsonDeeperThan(b('{"a":[{"b":1}]}'), 2)).toBe(true);
    expect(jsonDeeperThan(b('{"a":"[[[[{{{{"}'), 1)).toBe(false);
    expect(jsonDeeperThan(b('{"a":"\\"[[[[","b":{}}'), 1)).toBe(true);
    expect(jsonDeeperThan(b('{"a":"\\\\","b":[]}'), 2)).toBe(false);
  });
  it("finds 100,000 levels without recursing", () => {
    expect(jsonDeeperThan(b("[".repeat(100_000) + "]".repeat(100_000)), 100)).toBe(true);
    expect(jsonDeeperThan(b("[".repeat(100) + "]".repeat(100)), 100)).toBe(false);
  });
});
