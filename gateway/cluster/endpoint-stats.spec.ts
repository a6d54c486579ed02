import { describe, expect, it } from "vitest";
import { Code } from "../call/status.js";
import { EndpointStats, STATS_WINDOW_S, bucketOf } from "./endpoint-stats.js";

function clock(start = 100_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

describe("EndpointStats", () => {
  it("reads zeros before any attempt", () => {
    const c = clock();
    const s = new EndpointStats(c.now);
    c.advance(3000);
    expect(s.read()).toEqual({ callsPerSecond: 0, errorRate: 0, p50Ms: 0, p99Ms: 0 });
  });

  it("gives calls per second over the window, not diluted by the seconds before it was made", () => {
    const c = clock();
    const s = new EndpointStats(c.now);
    // 2 s at 50 attempts a second.
    for (let i = 0; i < 100; i++) {
      s.record(5, Code.OK);
      c.advance(20);
    }
    expect(s.read().callsPerSecond).toBeCloseTo(50, 0);
    // Then 60 s at 10 a second: the window holds only those.
    for (let i = 0; i < 600; i++) {
      s.record(5, Code.OK);
      c.advance(100);
    }
    expect(s.read().callsPerSecond).toBeGreaterThan(9);
    expect(s.read().callsPerSecond).toBeLessThan(11);
  });

  it("forgets everything once a whole window went by without attempts", () => {
    const c = clock();
    const s = new EndpointStats(c.now);
    for (let i = 0; i < 50; i++) s.record(10, Code.UNAVAILABLE);
    expect(s.read().errorRate).toBe(1);
    c.advance((STATS_WINDOW_S + 1) * 1000);
    expect(s.read()).toEqual({ callsPerSecond: 0, errorRate: 0, p50Ms: 0, p99Ms: 0 });
  });

  it("counts non-OK statuses as errors and leaves cancels out of the error rate and latency", () => {
    const c = clock();
    const s = new EndpointStats(c.now);
    for (let i = 0; i < 30; i++) s.record(2, Code.OK);
    for (let i = 0; i < 10; i++) s.record(2, Code.UNAVAILABLE);
    for (let i = 0; i < 60; i++) s.record(5000, Code.CANCELLED);
    c.advance(1000);
    const r = s.read();
    expect(r.errorRate).toBeCloseTo(0.25, 5);
    expect(r.p99Ms).toBeLessThan(3);
    expect(r.callsPerSecond).toBeCloseTo(100, 0);
  });

  it("reads p50 and p99 within a bucket's width (20%) of the exact values", () => {
    const c = clock();
    const s = new EndpointStats(c.now);
    // 1..1000 ms, one each: p50 = 500, p99 = 990.
    for (let ms = 1; ms <= 1000; ms++) s.record(ms, Code.OK);
    c.advance(500);
    const r = s.read();
    expect(r.p50Ms).toBeGreaterThan(500 / 1.2);
    expect(r.p50Ms).toBeLessThan(500 * 1.2);
    expect(r.p99Ms).toBeGreaterThan(990 / 1.2);
    expect(r.p99Ms).toBeLessThan(990 * 1.2);
  });

  it("puts any duration somewhere, however odd", () => {
    for (const ms of [-1, 0, Number.NaN, 0.05, 1e12, Number.POSITIVE_INFINITY]) {
      const b = bucketOf(ms);
      expect(b).toBeGreaterThanOrEqual(0);
      expect(b).toBeLessThan(80);
    }
  });
});
