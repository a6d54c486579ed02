import { describe, expect, it } from "vitest";
import { MAX_DURATION_MS, parseDuration } from "./duration.js";

describe("parseDuration", () => {
  it.each([
    ["250ms", 250],
    ["5s", 5_000],
    ["1m", 60_000],
    ["2h", 7_200_000],
    ["1.5s", 1_500],
    ["1.1s", 1_100],
    ["1m30s", 90_000],
    ["0s", 0],
    ["0.5ms", 0.5],
  ])("parses %s as %d ms", (input, ms) => {
    expect(parseDuration(input)).toBe(ms);
  });

  it("treats plain numbers as milliseconds", () => {
    expect(parseDuration(0)).toBe(0);
    expect(parseDuration(1500)).toBe(1500);
  });

  it.each([
    ["", '"" is not a duration'],
    ["5", '"5" has no unit (write "5ms"'],
    ["5 s", '"5 s" is not a duration (expected e.g. "250ms"'],
    ["5sec", '"5sec" is not a duration'],
    ["1d", '"1d" is not a duration'],
    [".5s", '".5s" is not a duration'],
    ["-5s", '"-5s" must not be negative'],
    ["ms", '"ms" is not a duration'],
  ])("rejects %j", (input, message) => {
    expect(() => parseDuration(input)).toThrow(message);
  });

  it("rejects negative and non-finite numbers", () => {
    expect(() => parseDuration(-1)).toThrow("-1 must not be negative");
    expect(() => parseDuration(Number.NaN)).toThrow("NaN is not a duration");
    expect(() => parseDuration(Number.POSITIVE_INFINITY)).toThrow("Infinity is not a duration");
  });

  it("rejects durations Node timers cannot represent", () => {
    expect(parseDuration(MAX_DURATION_MS)).toBe(MAX_DURATION_MS);
    expect(() => parseDuration("600h")).toThrow('"600h" is longer than the maximum');
  });

  it("rejects non-string, non-number input from untyped callers", () => {
    expect(() => parseDuration(true as unknown as string)).toThrow("true is not a duration");
  });
});
