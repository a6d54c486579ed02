import { describe, expect, it } from "vitest";
import { Cancel } from "./cancel.js";

describe("Cancel", () => {
  it("runs each listener once, in order, and later subscribers at once", () => {
    const c = new Cancel();
    const seen: string[] = [];
    c.on(() => seen.push("a"));
    c.on(() => seen.push("b"));
    expect(c.cancelled).toBe(false);
    c.cancel();
    c.cancel();
    c.on(() => seen.push("late"));
    expect(seen).toEqual(["a", "b", "late"]);
    expect(c.cancelled).toBe(true);
  });

  it("does not run a listener that unsubscribed", () => {
    const c = new Cancel();
    const seen: string[] = [];
    const off = c.on(() => seen.push("gone"));
    const keep = () => seen.push("kept");
    c.on(keep);
    off();
    c.cancel();
    expect(seen).toEqual(["kept"]);
  });

  it("cancels a child with its parent, but not the parent with its child; a finished child leaves no listener behind", () => {
    const parent = new Cancel();
    const a = parent.child();
    const b = parent.child();
    a.cancel();
    expect(parent.cancelled).toBe(false);
    expect((parent as unknown as { listeners: unknown[] }).listeners).toHaveLength(1);
    parent.cancel();
    expect(b.cancelled).toBe(true);
    expect(parent.child().cancelled).toBe(true);
  });
});
