import { describe, expect, it } from "vitest";
import { DEFAULT_EWMA_MS, PeakEwma } from "./peak-ewma.js";

function clock() {
  let t = 0;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

describe("PeakEwma", () => {
  it("starts a fresh endpoint at a small default so it gets tried", () => {
    expect(new PeakEwma(10_000, clock().now).value).toBe(DEFAULT_EWMA_MS);
  });

  it("jumps to a peak at once", () => {
    const c = clock();
    const e = new PeakEwma(10_000, c.now);
    e.observe(5);
    c.advance(100);
    e.observe(500);
    expect(e.value).toBe(500);
  });

  it("lets lower samples in by the time since the last one", () => {
    const c = clock();
    const e = new PeakEwma(10_000, c.now);
    e.observe(100);
    e.observe(10); // no time passed: no weight
    expect(e.value).toBe(100);
    c.advance(10_000);
    const w = Math.exp(-1);
    // Reported: relaxed toward the default while no samples came.
    expect(e.value).toBeCloseTo(DEFAULT_EWMA_MS + (100 - DEFAULT_EWMA_MS) * w, 9);
    // Estimated: the sample blended into the last measurement.
    e.observe(10);
    expect(e.value).toBeCloseTo(100 * w + 10 * (1 - w), 9);
  });

  it("responds monotonically to the sample", () => {
    const after = (sample: number) => {
      const c = clock();
      const e = new PeakEwma(10_000, c.now);
      e.observe(100);
      c.advance(5_000);
      e.observe(sample);
      return e.value;
    };
    const values = [0, 10, 50, 99, 100, 101, 200].map(after);
    for (let i = 1; i < values.length; i++) expect(values[i]).toBeGreaterThanOrEqual(values[i - 1]!);
  });

  it("converges on a steady latency, from above and from below", () => {
    const c = clock();
    const e = new PeakEwma(10_000, c.now);
    e.observe(400);
    for (let i = 0; i < 1200; i++) {
      c.advance(100);
      e.observe(20);
    }
    expect(e.value).toBeCloseTo(20, 1); // 2 minutes = 12 decay times
    for (let i = 0; i < 1200; i++) {
      c.advance(100);
      e.observe(0.2);
    }
    expect(e.value).toBeCloseTo(0.2, 1);
  });

  it("drifts back to the fresh default when idle, so an avoided endpoint is tried again", () => {
    const c = clock();
    const e = new PeakEwma(10_000, c.now);
    e.observe(1000);
    c.advance(100_000);
    expect(e.value).toBeCloseTo(DEFAULT_EWMA_MS, 1);
  });

  it("ignores samples that are not latencies", () => {
    const e = new PeakEwma(10_000, clock().now);
    for (const v of [NaN, -5, Infinity]) e.observe(v);
    expect(e.value).toBe(DEFAULT_EWMA_MS);
  });
});
