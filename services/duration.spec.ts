import { describe, expect, it } from "vitest";
import { parseDuration } from "./duration.js";

describe("parseDuration", () => {
  it.each([
    ["250ms", 250],
    ["2s", 2000],
    ["1.5s", 1500],
    ["300", 300],
    ["0", 0],
    [" 40ms ", 40],
  ])("%j is %d ms", (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each(["", "ms", "-5ms", "5m", "1h", "abc", "2 s", "1e3"])("rejects %j", (text) => {
    expect(parseDuration(text)).toBeUndefined();
  });
});
