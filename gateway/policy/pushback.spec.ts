import { describe, expect, it } from "vitest";
import { MAX_DURATION_MS } from "../config/duration.js";
import { parsePushback } from "./pushback.js";

describe("parsePushback", () => {
  it("absent: retry with the normal backoff", () => {
    expect(parsePushback(undefined)).toEqual({ retry: true });
  });

  it("a non-negative integer: retry after exactly that long", () => {
    expect(parsePushback("0")).toEqual({ retry: true, delayMs: 0 });
    expect(parsePushback("250")).toEqual({ retry: true, delayMs: 250 });
    expect(parsePushback(" 250 ")).toEqual({ retry: true, delayMs: 250 });
  });

  it("negative or malformed: the server says do not retry", () => {
    for (const v of ["-1", "", "abc", "1.5", "1e3", "+5", "10ms", "0x10"])
      expect(parsePushback(v), v).toEqual({ retry: false });
  });

  it("clamps huge delays so a timer cannot overflow into firing at once", () => {
    expect(parsePushback("99999999999999999999")).toEqual({ retry: true, delayMs: MAX_DURATION_MS });
  });
});
