import { describe, expect, it } from "vitest";
import { defaultOverload } from "../config/limits.js";
import { OverloadGuard, overloadReason } from "./overload.js";

const calm = { heapUsedBytes: 10, heapLimitBytes: 100, rssBytes: 1000, eventLoopDelayMs: 5 };

describe("overloadReason", () => {
  const d = defaultOverload();
  it("says which threshold is passed, or nothing", () => {
    expect(overloadReason(d, calm)).toBeUndefined();
    expect(overloadReason(d, { ...calm, eventLoopDelayMs: 1500 })).toMatch(
      /event loop delay 1500 ms > overload.maxEventLoopDelay 1000 ms/,
    );
    expect(overloadReason(d, { ...calm, heapUsedBytes: 96 })).toMatch(/heap 96.0% .* > overload.maxHeapPercent 95%/);
    expect(overloadReason(d, { ...calm, rssBytes: 2e9 })).toBeUndefined();
    expect(overloadReason({ ...d, maxRssBytes: 1e9 }, { ...calm, rssBytes: 2e9 })).toMatch(/maxRssBytes/);
  });
  it("a threshold of 0 is off", () => {
    const off = { ...d, maxEventLoopDelayMs: 0, maxHeapPercent: 0 };
    expect(overloadReason(off, { ...calm, eventLoopDelayMs: 1e6, heapUsedBytes: 100 })).toBeUndefined();
  });
});

describe("OverloadGuard", () => {
  it("refuses with UNAVAILABLE and the configured pushback while a watermark is passed, and not when off", () => {
    let settings = { ...defaultOverload(), maxRssBytes: 1000, retryPushbackMs: 2500 };
    let rss = 500;
    const g = new OverloadGuard(
      () => settings,
      () => ({ heapUsedBytes: 1, heapLimitBytes: 100, rssBytes: rss }),
    );
    try {
      g.check();
      expect(g.refusal()).toBeUndefined();
      rss = 2000;
      g.check();
      expect(g.refusal()).toMatchObject({ status: { code: 14 }, pushbackMs: 2500 });
      expect(g.refusal()!.status.message).toMatch(/resident memory 2000 bytes/);
      settings = { ...settings, enabled: false };
      g.check();
      expect(g.refusal()).toBeUndefined();
    } finally {
      g.close();
    }
  });
});
