import { describe, expect, it } from "vitest";
import { LatencyWindow, MIN_LATENCY_SAMPLES } from "./latency-window.js";

describe("LatencyWindow", () => {
  it("has no percentile until it has enough samples to mean something", () => {
    const w = new LatencyWindow();
    for (let i = 1; i < MIN_LATENCY_SAMPLES; i++) w.record(i);
    expect(w.percentile(95)).toBeUndefined();
    w.record(MIN_LATENCY_SAMPLES);
    expect(w.percentile(95)).toBe(19);
  });

  it("computes nearest-rank percentiles, sorting numerically", () => {
    const w = new LatencyWindow();
    // Recorded out of order, with values that sort wrongly as strings.
    for (let i = 100; i >= 1; i--) w.record(i);
    expect(w.percentile(50)).toBe(50);
    expect(w.percentile(95)).toBe(95);
    expect(w.percentile(99.9)).toBe(100);
    expect(w.percentile(100)).toBe(100);
    expect(w.percentile(0)).toBe(1);
  });

  it("forgets the oldest samples once full", () => {
    const w = new LatencyWindow(100);
    for (let i = 0; i < 100; i++) w.record(1000);
    expect(w.percentile(50)).toBe(1000);
    for (let i = 0; i < 99; i++) w.record(1);
    expect(w.percentile(95)).toBe(1);
    expect(w.percentile(100)).toBe(1000);
    w.record(1);
    expect(w.percentile(100)).toBe(1);
    expect(w.size).toBe(100);
  });

  it("sees new samples after a percentile was read", () => {
    const w = new LatencyWindow(20);
    for (let i = 0; i < 20; i++) w.record(10);
    expect(w.percentile(50)).toBe(10);
    for (let i = 0; i < 20; i++) w.record(20);
    expect(w.percentile(50)).toBe(20);
  });

  it("ignores values that are not latencies", () => {
    const w = new LatencyWindow();
    for (const v of [NaN, -1, Infinity]) w.record(v);
    expect(w.size).toBe(0);
  });

  it("answers once full when the window is smaller than the minimum", () => {
    const w = new LatencyWindow(5);
    for (let i = 1; i <= 5; i++) w.record(i);
    expect(w.percentile(80)).toBe(4);
  });
});
