import { describe, expect, it } from "vitest";
import { thrownCallError } from "../../../test/helpers/thrown.js";
import { Code } from "../../call/status.js";
import { encodeConnectTimeout, parseConnectTimeout } from "./timeout.js";

describe("parseConnectTimeout", () => {
  it("reads whole milliseconds, up to 10 digits", () => {
    expect(parseConnectTimeout("250")).toBe(250);
    expect(parseConnectTimeout("9999999999")).toBe(9_999_999_999);
  });

  it("means no timeout when the header is absent", () => {
    expect(parseConnectTimeout(undefined)).toBeUndefined();
  });

  it("answers anything but 1-10 digits with INVALID_ARGUMENT naming the value", () => {
    for (const bad of ["", "12345678901", "-1", "1.5", "250ms", " 250", "abc", "1e3"]) {
      const err = thrownCallError(() => parseConnectTimeout(bad));
      expect(err.code, bad).toBe(Code.INVALID_ARGUMENT);
      expect(err.message).toContain(`invalid connect-timeout-ms "${bad}"`);
    }
  });
});

describe("encodeConnectTimeout", () => {
  it("rounds up to whole milliseconds and never says 0, which would mean already expired", () => {
    expect(encodeConnectTimeout(250)).toBe("250");
    expect(encodeConnectTimeout(1.01)).toBe("2");
    expect(encodeConnectTimeout(0.2)).toBe("1");
    expect(encodeConnectTimeout(0)).toBe("1");
    expect(encodeConnectTimeout(-5)).toBe("1");
  });

  it("round-trips through parseConnectTimeout, never shorter than asked", () => {
    for (const ms of [0.5, 1, 42.3, 1000, 2 ** 31 - 1]) {
      const back = parseConnectTimeout(encodeConnectTimeout(ms))!;
      expect(back).toBeGreaterThanOrEqual(ms);
      expect(back - ms).toBeLessThan(1);
    }
  });
});
