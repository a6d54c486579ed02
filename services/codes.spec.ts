import { Code } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { codeName, parseCode } from "./codes.js";

describe("parseCode", () => {
  it.each([
    ["unavailable", Code.Unavailable],
    ["not_found", Code.NotFound],
    ["NOT_FOUND", Code.NotFound],
    ["DEADLINE_EXCEEDED", Code.DeadlineExceeded],
    ["resource_exhausted", Code.ResourceExhausted],
    ["canceled", Code.Canceled],
    ["unauthenticated", Code.Unauthenticated],
  ])("%j is %s", (text, code) => {
    expect(parseCode(text)).toBe(code);
  });

  it.each(["", "ok", "OK", "bogus", "5", "not-found"])("rejects %j", (text) => {
    expect(parseCode(text)).toBeUndefined();
  });
});

describe("codeName", () => {
  it("round-trips every code through its Connect name", () => {
    for (const value of Object.values(Code)) {
      if (typeof value !== "number") continue;
      expect(parseCode(codeName(value))).toBe(value);
    }
    expect(codeName(Code.DeadlineExceeded)).toBe("deadline_exceeded");
  });
});
