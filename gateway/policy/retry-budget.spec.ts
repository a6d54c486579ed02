import { describe, expect, it } from "vitest";
import { RetryBudget } from "./retry-budget.js";

function clock() {
  let t = 0;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

const drain = (b: RetryBudget) => {
  let n = 0;
  while (b.tryAcquire()) if (++n > 1e6) throw new Error("budget never ran out");
  return n;
};

describe("RetryBudget", () => {
  it("always allows minRetriesPerSecond × 10 s, even with no traffic", () => {
    const b = new RetryBudget({ percent: 20, minRetriesPerSecond: 10 }, clock().now);
    expect(drain(b)).toBe(100);
  });

  it("adds percent of the original requests", () => {
    const b = new RetryBudget({ percent: 20, minRetriesPerSecond: 0 }, clock().now);
    for (let i = 0; i < 100; i++) b.recordRequest();
    expect(drain(b)).toBe(20);
    b.recordRequest(); // 0.2 of a retry: not yet a whole one
    expect(b.tryAcquire()).toBe(false);
    for (let i = 0; i < 4; i++) b.recordRequest();
    expect(b.tryAcquire()).toBe(true);
  });

  it("holds retries to the ratio under sustained traffic", () => {
    const c = clock();
    const b = new RetryBudget({ percent: 10, minRetriesPerSecond: 1 }, c.now);
    let originals = 0;
    let retries = 0;
    // 60 s at 1000 requests/s, every request wanting a retry.
    for (let ms = 0; ms < 60_000; ms++) {
      b.recordRequest();
      originals++;
      if (b.tryAcquire()) retries++;
      c.advance(1);
    }
    // 10% of originals plus 1/s, give or take the window's edges.
    expect(retries / originals).toBeGreaterThan(0.1);
    expect(retries / originals).toBeLessThan(0.1 + 0.01);
  });

  it("forgets requests and retries once they leave the 10 s window", () => {
    const c = clock();
    const b = new RetryBudget({ percent: 50, minRetriesPerSecond: 0 }, c.now);
    for (let i = 0; i < 10; i++) b.recordRequest();
    expect(drain(b)).toBe(5);
    c.advance(5_000);
    for (let i = 0; i < 10; i++) b.recordRequest();
    expect(drain(b)).toBe(5);
    // The first batch and its retries expire; the second batch still counts.
    c.advance(5_500);
    expect(b.available()).toBe(0);
    // Now the second batch's retries expire too, along with its requests.
    c.advance(5_000);
    expect(b.available()).toBe(0);
    for (let i = 0; i < 4; i++) b.recordRequest();
    expect(drain(b)).toBe(2);
  });

  it("refills the reserve after a quiet window", () => {
    const c = clock();
    const b = new RetryBudget({ percent: 0, minRetriesPerSecond: 1 }, c.now);
    expect(drain(b)).toBe(10);
    c.advance(60_000);
    expect(drain(b)).toBe(10);
  });

  it("never allows anything with a zero budget", () => {
    const b = new RetryBudget({ percent: 0, minRetriesPerSecond: 0 }, clock().now);
    for (let i = 0; i < 1000; i++) b.recordRequest();
    expect(b.tryAcquire()).toBe(false);
  });

  it("survives a clock that steps backwards", () => {
    const c = clock();
    const b = new RetryBudget({ percent: 100, minRetriesPerSecond: 0 }, c.now);
    b.recordRequest();
    c.advance(-3_000);
    expect(b.tryAcquire()).toBe(true);
    expect(b.tryAcquire()).toBe(false);
  });
});
