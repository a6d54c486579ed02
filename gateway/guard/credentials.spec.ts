import { describe, expect, it } from "vitest";
import { claimAllows, claimOf, claimText, tokenFrom } from "./credentials.js";

describe("tokenFrom", () => {
  it("reads a Bearer token from authorization, the scheme in any case", () => {
    expect(tokenFrom({ authorization: "Bearer abc.def.ghi" }, "authorization")).toBe("abc.def.ghi");
    expect(tokenFrom({ authorization: "bearer  abc" }, "authorization")).toBe("abc");
    expect(tokenFrom({}, "authorization")).toBeUndefined();
  });

  it("answers a header that holds no usable token as a bad one", () => {
    expect(tokenFrom({ authorization: "Basic dXNlcjpwdw==" }, "authorization")).toBe("");
    expect(tokenFrom({ authorization: "Bearer" }, "authorization")).toBe("");
    expect(tokenFrom({ authorization: "abc.def.ghi" }, "authorization")).toBe("");
    expect(tokenFrom({ "x-token": ["a", "b"] }, "x-token")).toBe("");
  });

  it("reads another header's bare value, or a Bearer one", () => {
    expect(tokenFrom({ "x-token": "abc" }, "x-token")).toBe("abc");
    expect(tokenFrom({ "x-token": "Bearer abc" }, "x-token")).toBe("abc");
    expect(tokenFrom({ "x-token": "a b" }, "x-token")).toBe("");
  });
});

describe("claims", () => {
  const claims = {
    sub: "u1",
    n: 7,
    ok: true,
    roles: ["a", "b"],
    org: { id: "acme" },
    "a.b": "flat",
    scope: "read write",
  };

  it("finds claims by name, nested with dots", () => {
    expect(claimOf(claims, "sub")).toBe("u1");
    expect(claimOf(claims, "org.id")).toBe("acme");
    expect(claimOf(claims, "a.b")).toBe("flat");
    expect(claimOf(claims, "org.none.deeper")).toBeUndefined();
  });

  it("writes header text only for what a header can carry", () => {
    expect(claimText("u1")).toBe("u1");
    expect(claimText(7)).toBe("7");
    expect(claimText(true)).toBe("true");
    expect(claimText(["a", "b"])).toBe("a,b");
    expect(claimText({ id: "acme" })).toBeUndefined();
    expect(claimText("line\r\nx-injected: 1")).toBeUndefined();
    expect(claimText("Zoë")).toBeUndefined();
    expect(claimText(["a,b", "c"])).toBeUndefined();
  });

  it("allows a claim equal to, or a list or scope containing, one of the values", () => {
    expect(claimAllows("u1", ["u1"])).toBe(true);
    expect(claimAllows(["a", "b"], ["b"])).toBe(true);
    expect(claimAllows("read write", ["write"])).toBe(true);
    expect(claimAllows("read", ["write"])).toBe(false);
    expect(claimAllows(undefined, ["x"])).toBe(false);
    expect(claimAllows({ x: 1 }, ["x"])).toBe(false);
  });
});
