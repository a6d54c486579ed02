import { describe, expect, it } from "vitest";
import { Code } from "../call/status.js";
import { EndpointStats, STATS_WINDOW_S, bucketOf, lowerMs, ratesOf } from "./endpoint-stats.js";

function clock(start = 100_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

/** Stats on a fake clock, and a way to record an attempt of `ms` that ends now. */
function statsOn(c: ReturnType<typeof clock>): { s: EndpointStats; record(ms: number, code: Code): void } {
  const s = new EndpointStats(c.now);
  return { s, record: (ms, code) => s.record(c.now() - ms, code) };
}

describe("EndpointStats", () => {
  it("reads zeros before any attempt", () => {
    const c = clock();
    const { s } = statsOn(c);
    c.advance(3000);
    expect(s.read()).toEqual({ callsPerSecond: 0, errorRate: 0, p50Ms: 0, p99Ms: 0 });
  });

  it("gives calls per second over the window, not diluted by the seconds before it was made", () => {
    const c = clock();
    const { s, record } = statsOn(c);
    // 2 s at 50 attempts a second.
    for (let i = 0; i < 100; i++) {
      record(5, Code.OK);
      c.advance(20);
    }
    expect(s.read().callsPerSecond).toBeCloseTo(50, 0);
    // Then 60 s at 10 a second: the window holds only those.
    for (let i = 0; i < 600; i++) {
      record(5, Code.OK);
      c.advance(100);
    }
    expect(s.read().callsPerSecond).toBeGreaterThan(9);
    expect(s.read().callsPerSecond).toBeLessThan(11);
  });

  it("forgets everything once a whole window went by without attempts", () => {
    const c = clock();
    const { s, record } = statsOn(c);
    for (let i = 0; i < 50; i++) record(10, Code.UNAVAILABLE);
    expect(s.read().errorRate).toBe(1);
    c.advance((STATS_WINDOW_S + 1) * 1000);
    expect(s.read()).toEqual({ callsPerSecond: 0, errorRate: 0, p50Ms: 0, p99Ms: 0 });
  });

  it("counts non-OK statuses as errors and leaves cancels out of the error rate and latency", () => {
    const c = clock();
    const { s, record } = statsOn(c);
    for (let i = 0; i < 30; i++) record(2, Code.OK);
    for (let i = 0; i < 10; i++) record(2, Code.UNAVAILABLE);
    for (let i = 0; i < 60; i++) record(5000, Code.CANCELLED);
    c.advance(1000);
    const r = s.read();
    expect(r.errorRate).toBeCloseTo(0.25, 5);
    expect(r.p99Ms).toBeLessThan(3);
    expect(r.callsPerSecond).toBeCloseTo(100, 0);
  });

  it("reads p50 and p99 within a bucket's width (25%) of the exact values", () => {
    const c = clock();
    const { s, record } = statsOn(c);
    // 1..1000 ms, one each: p50 = 500, p99 = 990.
    for (let ms = 1; ms <= 1000; ms++) record(ms, Code.OK);
    c.advance(500);
    const r = s.read();
    expect(r.p50Ms).toBeGreaterThan(500 / 1.25);
    expect(r.p50Ms).toBeLessThan(500 * 1.25);
    expect(r.p99Ms).toBeGreaterThan(990 / 1.25);
    expect(r.p99Ms).toBeLessThan(990 * 1.25);
  });

  it("puts any duration somewhere, however odd", () => {
    for (const ms of [-1, 0, Number.NaN, 0.0005, 1e12, Number.POSITIVE_INFINITY]) {
      const b = bucketOf(ms);
      expect(b).toBeGreaterThanOrEqual(0);
      expect(b).toBeLessThan(124);
    }
  });

  it("finds each duration's bucket between its bounds, at most 25% wide", () => {
    let last = 0;
    for (let ms = 0.004; ms < 2e6; ms *= 1.07) {
      const b = bucketOf(ms);
      expect(b).toBeGreaterThanOrEqual(last);
      last = b;
      expect(lowerMs(b)).toBeLessThanOrEqual(ms);
      expect(lowerMs(b + 1)).toBeGreaterThan(ms);
      expect(lowerMs(b + 1) / lowerMs(b)).toBeLessThanOrEqual(1.25);
    }
  });
});

describe("ratesOf several windows (one per worker)", () => {
  it("adds calls per second, weighs error rates by attempts, and reads percentiles from the summed histogram", () => {
    const c = clock();
    const fast = statsOn(c);
    const slow = statsOn(c);
    // 900 fast attempts (2 ms, all OK) on one worker, 100 slow ones (400 ms, 10 failing) on the other.
    for (let i = 0; i < 900; i++) fast.record(2, Code.OK);
    for (let i = 0; i < 90; i++) slow.record(400, Code.OK);
    for (let i = 0; i < 10; i++) slow.record(400, Code.UNAVAILABLE);
    c.advance(2000);
    const merged = ratesOf([fast.s.window(), slow.s.window()]);
    expect(merged.callsPerSecond).toBeCloseTo(fast.s.read().callsPerSecond + slow.s.read().callsPerSecond, 6);
    expect(merged.callsPerSecond).toBeCloseTo(500, 0);
    expect(merged.errorRate).toBeCloseTo(10 / 1000, 6);
    // The group's median is a fast call and its p99 a slow one; averaging each worker's would give 201 ms for both.
    expect(merged.p50Ms).toBeLessThan(2 * 1.25);
    expect(merged.p99Ms).toBeGreaterThan(400 / 1.25);
    expect(merged.p99Ms).toBeLessThan(400 * 1.25);
  });

  it("takes each window's own seconds: a young worker's calls are not diluted by the others' age", () => {
    const c = clock();
    const old = statsOn(c);
    c.advance(8000);
    for (let i = 0; i < 80; i++) old.record(1, Code.OK);
    const young = statsOn(c);
    c.advance(500);
    for (let i = 0; i < 50; i++) young.record(1, Code.OK);
    c.advance(500);
    const [a, b] = [old.s.window(), young.s.window()];
    expect(b.seconds).toBeCloseTo(1, 3);
    expect(ratesOf([a, b]).callsPerSecond).toBeCloseTo(80 / a.seconds + 50, 6);
  });

  it("is the single window's read() for one window, and zeros for none", () => {
    const c = clock();
    const { s, record } = statsOn(c);
    for (let ms = 1; ms <= 100; ms++) record(ms, ms % 10 ? Code.OK : Code.INTERNAL);
    c.advance(700);
    expect(ratesOf([s.window()])).toEqual(s.read());
    expect(ratesOf([])).toEqual({ callsPerSecond: 0, errorRate: 0, p50Ms: 0, p99Ms: 0 });
  });
});
