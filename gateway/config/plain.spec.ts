import { describe, expect, it } from "vitest";
import { withoutUndefined } from "./plain.js";

describe("withoutUndefined", () => {
  it("drops undefined keys at any depth", () => {
    expect(withoutUndefined({ a: 1, b: undefined, c: { d: undefined, e: [{ f: undefined, g: 2 }] } })).toEqual({
      a: 1,
      c: { e: [{ g: 2 }] },
    });
  });

  it("copies plain objects and arrays", () => {
    const input = { list: [1], nested: { x: 1 } };
    const out = withoutUndefined(input) as typeof input;
    expect(out).toEqual(input);
    expect(out.list).not.toBe(input.list);
    expect(out.nested).not.toBe(input.nested);
  });

  it("keeps other values as they are", () => {
    const map = new Map([["k", 1]]);
    expect((withoutUndefined({ map }) as { map: unknown }).map).toBe(map);
    expect(withoutUndefined(null)).toBe(null);
    expect(withoutUndefined("s")).toBe("s");
  });
});
