import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { Deadline } from "./deadline.js";

describe("Deadline.after", () => {
  it("is no deadline for a call without a timeout", () => {
    expect(Deadline.after(undefined)).toBeUndefined();
    expect(Deadline.after(undefined, 0)).toBeUndefined();
  });

  it("is a deadline for a timeout of 0, already expired", () => {
    const d = Deadline.after(0, 100)!;
    expect(d.timeoutMs).toBe(0);
    expect(d.expired(100)).toBe(true);
    expect(d.remaining(100)).toBe(0);
  });
});

describe("Deadline shave", () => {
  it("gives up 10% before the client would", () => {
    const d = Deadline.after(200, 1000)!;
    expect(d.remaining(1000)).toBeCloseTo(180, 9);
    expect(d.expired(1179)).toBe(false);
    expect(d.expired(1180)).toBe(true);
  });

  it("gives up at most 50 ms early", () => {
    const d = Deadline.after(10_000, 0)!;
    expect(d.remaining(0)).toBe(9_950);
    expect(d.expired(9_949)).toBe(false);
    expect(d.expired(9_950)).toBe(true);
    expect(Deadline.after(500, 0)!.remaining(0)).toBe(450);
  });

  it("keeps the timeout it was given, unshaved, for messages", () => {
    const d = Deadline.after(1000, 0)!;
    expect(d.timeoutMs).toBe(1000);
    expect(d.describe()).toBe("deadline of 1000 ms exceeded (gateway)");
    expect(Deadline.after(12.6, 0)!.describe()).toBe("deadline of 13 ms exceeded (gateway)");
  });
});

describe("Deadline time left", () => {
  it("counts down from when it was made, and never below 0", () => {
    const d = Deadline.after(1000, 5000)!;
    expect(d.remaining(5000)).toBe(950);
    expect(d.remaining(5400)).toBe(550);
    expect(d.remaining(5950)).toBe(0);
    expect(d.remaining(99_999)).toBe(0);
  });

  it("is measured on performance.now() when no time is given", () => {
    const d = Deadline.after(1000)!;
    expect(d.remaining()).toBeGreaterThan(900);
    expect(d.remaining()).toBeLessThanOrEqual(950);
    expect(d.expired()).toBe(false);
  });
});

describe("Deadline clamp", () => {
  it("clamps a timeout beyond what a Node timer holds to 2^31 - 1 ms", () => {
    const d = Deadline.after(2 ** 40, 0)!;
    expect(Deadline.MAX_MS).toBe(2 ** 31 - 1);
    expect(d.timeoutMs).toBe(2 ** 31 - 1);
    expect(d.remaining(0)).toBe(2 ** 31 - 1 - 50);
  });

  it("treats a negative timeout as 0", () => {
    expect(Deadline.after(-5, 0)!.timeoutMs).toBe(0);
    expect(Deadline.after(-5, 0)!.expired(0)).toBe(true);
  });
});

describe("Deadline timer", () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("fires once, when the shaved time is up", () => {
    const onExpire = vi.fn();
    Deadline.after(100)!.arm(onExpire);
    vi.advanceTimersByTime(85);
    expect(onExpire).not.toHaveBeenCalled();
    vi.advanceTimersByTime(10);
    expect(onExpire).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(10_000);
    expect(onExpire).toHaveBeenCalledTimes(1);
  });

  it("does not fire once disarmed", () => {
    const onExpire = vi.fn();
    const d = Deadline.after(100)!;
    d.arm(onExpire);
    vi.advanceTimersByTime(50);
    d.disarm();
    vi.advanceTimersByTime(10_000);
    expect(onExpire).not.toHaveBeenCalled();
  });

  it("fires at once for a deadline already past", () => {
    const onExpire = vi.fn();
    Deadline.after(10, performance.now() - 1000)!.arm(onExpire);
    vi.advanceTimersByTime(0);
    expect(onExpire).toHaveBeenCalledTimes(1);
  });

  it("arms a clamped deadline without firing early (a Node timer past 2^31 - 1 would fire at once)", () => {
    const onExpire = vi.fn();
    const d = Deadline.after(Number.MAX_SAFE_INTEGER)!;
    d.arm(onExpire);
    vi.advanceTimersByTime(24 * 3600_000);
    expect(onExpire).not.toHaveBeenCalled();
    d.disarm();
  });

  it("disarm without arm is harmless", () => {
    expect(() => Deadline.after(100)!.disarm()).not.toThrow();
  });
});
