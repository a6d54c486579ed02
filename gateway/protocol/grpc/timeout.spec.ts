import { describe, expect, it } from "vitest";
import { thrownCallError } from "../../../test/helpers/thrown.js";
import { Code } from "../../call/status.js";
import { encodeGrpcTimeout, parseGrpcTimeout } from "./timeout.js";
import { Deadline } from "../../call/deadline.js";

describe("parseGrpcTimeout", () => {
  it("reads every unit of the gRPC spec as milliseconds", () => {
    expect(parseGrpcTimeout("2H")).toBe(7_200_000);
    expect(parseGrpcTimeout("3M")).toBe(180_000);
    expect(parseGrpcTimeout("5S")).toBe(5_000);
    expect(parseGrpcTimeout("250m")).toBe(250);
    expect(parseGrpcTimeout("1500u")).toBeCloseTo(1.5, 10);
    expect(parseGrpcTimeout("2000000n")).toBeCloseTo(2, 10);
    expect(parseGrpcTimeout("0m")).toBe(0);
  });

  it("means no timeout when the header is absent", () => {
    expect(parseGrpcTimeout(undefined)).toBeUndefined();
  });

  it("takes up to 8 digits and refuses 9", () => {
    expect(parseGrpcTimeout("99999999m")).toBe(99_999_999);
    expect(parseGrpcTimeout("00000001S")).toBe(1000);
    expect(thrownCallError(() => parseGrpcTimeout("123456789m")).code).toBe(Code.INVALID_ARGUMENT);
  });

  it("answers malformed values with INVALID_ARGUMENT naming the value and the form expected", () => {
    for (const bad of ["", "10", "m", "1.5S", "-1S", "10s", "10 S", " 10S", "10SS", "1e3m", "ten m"]) {
      const err = thrownCallError(() => parseGrpcTimeout(bad));
      expect(err.code, bad).toBe(Code.INVALID_ARGUMENT);
      expect(err.message).toContain(`invalid grpc-timeout "${bad}"`);
      expect(err.message).toMatch(/1-8 digits and a unit/);
    }
  });
});

describe("encodeGrpcTimeout", () => {
  it("uses milliseconds while they fit 8 digits, rounding up", () => {
    expect(encodeGrpcTimeout(250)).toBe("250m");
    expect(encodeGrpcTimeout(1.2)).toBe("2m");
    expect(encodeGrpcTimeout(99_999_999)).toBe("99999999m");
  });

  it("uses microseconds below a millisecond, and never encodes zero or less (that would be no time at all)", () => {
    expect(encodeGrpcTimeout(0.5)).toBe("500u");
    expect(encodeGrpcTimeout(0)).toBe("1u");
    expect(encodeGrpcTimeout(-20)).toBe("1u");
  });

  it("moves to seconds, then minutes, for longer timeouts, and caps at 8 digits of minutes", () => {
    expect(encodeGrpcTimeout(1e8)).toBe("100000S");
    expect(encodeGrpcTimeout(2 ** 31 - 1)).toBe("2147483S");
    expect(encodeGrpcTimeout(1e11 + 1)).toBe("1666666M");
    expect(encodeGrpcTimeout(1e14)).toBe("99999999M");
  });

  it("always encodes something parseGrpcTimeout accepts: never shorter than asked in milliseconds, within one unit below in the coarse ones", () => {
    for (const ms of [0.001, 0.25, 0.999, 1, 7.5, 250, 1234.5, 99_999_999, 1e8, 2 ** 31 - 1, 1e10, 5e12]) {
      const wire = encodeGrpcTimeout(ms);
      expect(wire, String(ms)).toMatch(/^\d{1,8}[HMSmun]$/);
      const back = parseGrpcTimeout(wire)!;
      // Within one unit of the one chosen: rounding, not a different order of magnitude.
      const unit = { u: 0.001, m: 1, S: 1000, M: 60_000 }[wire.slice(-1) as "u" | "m" | "S" | "M"];
      if (unit <= 1) expect(back, wire).toBeGreaterThanOrEqual(ms - 1e-9);
      expect(Math.abs(back - ms), wire).toBeLessThan(unit + 1e-9);
    }
  });

  // A value just under 10^8 of one unit must not round up to 9 digits, which
  // every gRPC server refuses; a deadline's remaining() is fractional.
  it("stays within 8 digits just below a unit boundary", () => {
    expect(encodeGrpcTimeout(99_999_999.5)).toMatch(/^\d{1,8}[HMSmun]$/);
    expect(encodeGrpcTimeout(99_999_999_500)).toMatch(/^\d{1,8}[HMSmun]$/);
  });
});

describe("grpc-timeout", () => {
  it("encodes in the finest unit that fits 8 digits", () => {
    expect(encodeGrpcTimeout(0.25)).toBe("250u");
    expect(encodeGrpcTimeout(1500.2)).toBe("1501m");
    expect(encodeGrpcTimeout(1e8 + 999)).toBe("100000S");
  });

  it("never tells an upstream more than a Node timer holds", () => {
    // The longest deadline the gateway keeps, as the upstream would read it.
    const longest = Deadline.after(Number.MAX_SAFE_INTEGER, 0)!.remaining(0);
    expect(parseGrpcTimeout(encodeGrpcTimeout(longest))).toBeLessThanOrEqual(Deadline.MAX_MS);
    expect(parseGrpcTimeout(encodeGrpcTimeout(Deadline.MAX_MS))).toBeLessThanOrEqual(Deadline.MAX_MS);
  });

  it("parses the longest header values without overflow", () => {
    expect(parseGrpcTimeout("99999999H")).toBe(99_999_999 * 3_600_000);
    expect(parseGrpcTimeout("720H")).toBe(2_592_000_000);
  });
});
