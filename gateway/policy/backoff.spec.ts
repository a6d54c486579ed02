import { describe, expect, it } from "vitest";
import { defaultResilience } from "../config/resilience.js";
import type { RetryPolicyConfig } from "../config/types.js";
import { retryBackoffMs } from "./backoff.js";

/** mulberry32: a tiny seeded PRNG, so statistical checks are repeatable. */
function seeded(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const policy = (over: Partial<RetryPolicyConfig> = {}): RetryPolicyConfig => ({
  ...defaultResilience().retryPolicy,
  ...over,
});

describe("retryBackoffMs", () => {
  it("grows the bound by the multiplier per retry, up to maxBackoff", () => {
    const p = policy({ initialBackoffMs: 25, backoffMultiplier: 2, maxBackoffMs: 1000 });
    const justUnder = () => 1 - Number.EPSILON;
    expect([1, 2, 3, 4, 5, 6, 7, 8].map((n) => Math.round(retryBackoffMs(n, p, justUnder)))).toEqual([
      25, 50, 100, 200, 400, 800, 1000, 1000,
    ]);
  });

  it("uses full jitter: anywhere from 0 up to the bound", () => {
    const p = policy({ initialBackoffMs: 100, backoffMultiplier: 1, maxBackoffMs: 100 });
    expect(retryBackoffMs(1, p, () => 0)).toBe(0);
    expect(retryBackoffMs(1, p, () => 0.5)).toBe(50);
    const random = seeded(1);
    const samples = Array.from({ length: 10_000 }, () => retryBackoffMs(1, p, random));
    expect(Math.min(...samples)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...samples)).toBeLessThan(100);
    // Uniform on [0, 100): mean 50, and each quarter holds about a quarter.
    expect(samples.reduce((a, b) => a + b, 0) / samples.length).toBeCloseTo(50, 0);
    for (let q = 0; q < 4; q++) {
      const share = samples.filter((s) => s >= q * 25 && s < (q + 1) * 25).length / samples.length;
      expect(Math.abs(share - 0.25)).toBeLessThan(0.02);
    }
  });

  it("stays finite for absurd retry numbers and treats n < 1 as the first retry", () => {
    const p = policy({ initialBackoffMs: 25, backoffMultiplier: 10, maxBackoffMs: 1000 });
    expect(retryBackoffMs(10_000, p, () => 0.5)).toBe(500);
    expect(retryBackoffMs(0, p, () => 0.5)).toBe(12.5);
  });
});
