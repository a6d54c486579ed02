import { describe, expect, it } from "vitest";
import { MemoryBuckets } from "./token-bucket.js";

function clock() {
  let t = 1000;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

describe("MemoryBuckets (GCRA token buckets)", () => {
  it("lets a burst through at once, then refills one token per interval", () => {
    const c = clock();
    const b = new MemoryBuckets(10, 5, c.now);
    for (let i = 0; i < 5; i++) expect(b.take("k")).toBe(0);
    // Empty: the next token is one interval (100 ms) away.
    expect(b.take("k")).toBeCloseTo(100);
    c.advance(40);
    expect(b.take("k")).toBeCloseTo(60);
    c.advance(60);
    expect(b.take("k")).toBe(0);
    expect(b.take("k")).toBeCloseTo(100);
    // Refused takes cost nothing: waiting the time it said is enough.
    c.advance(100);
    expect(b.take("k")).toBe(0);
  });

  it("refills steadily, not a whole window at once, and never past the burst", () => {
    const c = clock();
    const b = new MemoryBuckets(2, 4, c.now);
    for (let i = 0; i < 4; i++) expect(b.take("k")).toBe(0);
    c.advance(1000); // two tokens back, not four
    expect(b.take("k")).toBe(0);
    expect(b.take("k")).toBe(0);
    expect(b.take("k")).toBeGreaterThan(0);
    c.advance(60_000); // a long idle fills it to the burst only
    let passed = 0;
    for (let i = 0; i < 10; i++) if (b.take("k") === 0) passed++;
    expect(passed).toBe(4);
  });

  it("keeps a bucket per key", () => {
    const c = clock();
    const b = new MemoryBuckets(1, 1, c.now);
    expect(b.take("a")).toBe(0);
    expect(b.take("a")).toBeGreaterThan(0);
    expect(b.take("b")).toBe(0);
  });

  it("gets the arithmetic right where floating point would not (burst 3 at 3/s)", () => {
    const c = clock();
    const b = new MemoryBuckets(3, 3, c.now);
    expect([b.take("k"), b.take("k"), b.take("k")]).toEqual([0, 0, 0]);
    expect(b.take("k")).toBeGreaterThan(0);
  });

  it("forgets full buckets first, then the oldest, when clients bring too many keys", () => {
    const c = clock();
    const b = new MemoryBuckets(1, 1, c.now, 10);
    for (let i = 0; i < 10; i++) b.take(`old${i}`);
    c.advance(5000); // all full again
    for (let i = 0; i < 5; i++) b.take(`new${i}`);
    expect(b.size).toBe(5);
    for (let i = 5; i < 20; i++) b.take(`new${i}`);
    expect(b.size).toBeLessThanOrEqual(10);
    // The newest key is still counted.
    expect(b.take("new19")).toBeGreaterThan(0);
  });
});
