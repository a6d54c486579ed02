import { describe, expect, it } from "vitest";
import { isSafeToRepeat } from "./idempotency.js";

describe("isSafeToRepeat", () => {
  const listed = ["/acme.echo.v1.EchoService/Sum"];

  it("trusts the proto's idempotency level", () => {
    expect(isSafeToRepeat("/acme.echo.v1.EchoService/Echo", true, [])).toBe(true);
  });

  it("adds methods the operator listed by full path", () => {
    expect(isSafeToRepeat("/acme.echo.v1.EchoService/Sum", false, listed)).toBe(true);
  });

  it("refuses everything else, matching paths exactly", () => {
    expect(isSafeToRepeat("/acme.echo.v1.EchoService/Write", false, listed)).toBe(false);
    expect(isSafeToRepeat("/acme.echo.v1.EchoService/sum", false, listed)).toBe(false);
    expect(isSafeToRepeat("/acme.echo.v1.EchoService/SumAll", false, listed)).toBe(false);
  });
});
