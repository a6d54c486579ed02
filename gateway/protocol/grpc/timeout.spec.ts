import { describe, expect, it } from "vitest";
import { encodeGrpcTimeout, parseGrpcTimeout } from "./timeout.js";
import { Deadline } from "../../call/deadline.js";

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
