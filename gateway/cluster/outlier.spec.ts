import { describe, expect, it, vi } from "vitest";
import type { OutlierDetectionConfig } from "../config/types.js";
import { OutlierDetector, newOutlierHost, type OutlierHost } from "./outlier.js";

function config(over: Partial<OutlierDetectionConfig> = {}): OutlierDetectionConfig {
  return {
    enabled: true,
    consecutiveFailures: 3,
    baseEjectionTimeMs: 1000,
    maxEjectionTimeMs: 2500,
    maxEjectionPercent: 50,
    intervalMs: 100,
    successRateMinimumHosts: 3,
    successRateRequestVolume: 10,
    successRateStdevFactor: 1,
    ...over,
  };
}

function setup(n: number, over: Partial<OutlierDetectionConfig> = {}) {
  const hosts: OutlierHost[] = Array.from({ length: n }, newOutlierHost);
  const clock = { t: 10_000 };
  const ejections: Array<[number, string]> = [];
  const d = new OutlierDetector(
    config(over),
    () => hosts,
    () => clock.t,
    (h, reason) => ejections.push([hosts.indexOf(h), reason]),
  );
  return { hosts, clock, ejections, d };
}

function fail(d: OutlierDetector, h: OutlierHost, n: number): void {
  for (let i = 0; i < n; i++) d.record(h, false);
}

function traffic(d: OutlierDetector, h: OutlierHost, ok: number, bad: number): void {
  for (let i = 0; i < ok; i++) d.record(h, true);
  for (let i = 0; i < bad; i++) d.record(h, false);
}

describe("OutlierDetector: consecutive failures", () => {
  it("ejects at once after consecutiveFailures failures in a row", () => {
    const { hosts, ejections, d } = setup(4);
    fail(d, hosts[0], 2);
    expect(d.isEjected(hosts[0])).toBe(false);
    fail(d, hosts[0], 1);
    expect(d.isEjected(hosts[0])).toBe(true);
    expect(ejections).toEqual([[0, "3 consecutive failures; ejected for 1000 ms"]]);
  });

  it("a success resets the run", () => {
    const { hosts, d } = setup(4);
    fail(d, hosts[0], 2);
    d.record(hosts[0], true);
    fail(d, hosts[0], 2);
    expect(d.isEjected(hosts[0])).toBe(false);
  });

  it("un-ejects when the time is up, with a clean run", () => {
    const { hosts, clock, d } = setup(4);
    fail(d, hosts[0], 3);
    clock.t += 999;
    expect(d.isEjected(hosts[0])).toBe(true);
    clock.t += 1;
    expect(d.isEjected(hosts[0])).toBe(false);
    d.sweep();
    expect(hosts[0].ejectedUntil).toBe(0);
    expect(hosts[0].consecutiveFailures).toBe(0);
    fail(d, hosts[0], 2);
    expect(d.isEjected(hosts[0])).toBe(false);
  });

  it("uneject() (health checks saw it back) returns a host at once, keeping its multiplier", () => {
    const { hosts, d } = setup(4);
    fail(d, hosts[0]!, 3);
    expect(d.isEjected(hosts[0]!)).toBe(true);
    d.uneject(hosts[0]!);
    expect(d.isEjected(hosts[0]!)).toBe(false);
    expect(hosts[0]!.consecutiveFailures).toBe(0);
    expect(hosts[0]!.ejectionCount).toBe(1);
    d.uneject(hosts[1]!);
    expect(hosts[1]!).toEqual(newOutlierHost());
  });

  it("ejects for longer each time, capped at maxEjectionTime, and the multiplier decays in service", () => {
    const { hosts, clock, d } = setup(4);
    const h = hosts[0];
    const times: number[] = [];
    for (let i = 0; i < 4; i++) {
      const start = clock.t;
      fail(d, h, 3);
      times.push(h.ejectedUntil - start);
      clock.t = h.ejectedUntil;
      d.sweep();
    }
    expect(times).toEqual([1000, 2000, 2500, 2500]);
    expect(h.ejectionCount).toBe(4);
    // Two intervals in service: the multiplier drops by two.
    d.sweep();
    d.sweep();
    expect(h.ejectionCount).toBe(2);
    fail(d, h, 3);
    expect(h.ejectedUntil - clock.t).toBe(2500);
    expect(h.ejectionCount).toBe(3);
  });

  it("never ejects maxEjectionPercent or more of the hosts", () => {
    const { hosts, ejections, d } = setup(4, { maxEjectionPercent: 50 });
    for (const h of hosts) fail(d, h, 3);
    expect(hosts.map((h) => d.isEjected(h))).toEqual([true, true, false, false]);
    expect(ejections).toHaveLength(2);
  });

  it("lets one host go when the percentage is small but above zero (Envoy's rule)", () => {
    const { hosts, d } = setup(3, { maxEjectionPercent: 10 });
    for (const h of hosts) fail(d, h, 3);
    expect(hosts.filter((h) => d.isEjected(h))).toHaveLength(1);
  });

  it("ejects nothing at 0% and lets all go at 100%", () => {
    const none = setup(2, { maxEjectionPercent: 0 });
    for (const h of none.hosts) fail(none.d, h, 3);
    expect(none.hosts.some((h) => none.d.isEjected(h))).toBe(false);
    const all = setup(2, { maxEjectionPercent: 100 });
    for (const h of all.hosts) fail(all.d, h, 3);
    expect(all.hosts.every((h) => all.d.isEjected(h))).toBe(true);
  });

  it("a host whose ejection ran out frees a slot for another", () => {
    const { hosts, clock, d } = setup(2, { maxEjectionPercent: 50 });
    fail(d, hosts[0], 3);
    fail(d, hosts[1], 3);
    expect(d.isEjected(hosts[1])).toBe(false);
    clock.t += 1000;
    fail(d, hosts[1], 3);
    expect(d.isEjected(hosts[1])).toBe(true);
  });

  it("does nothing when disabled", () => {
    const { hosts, d } = setup(4, { enabled: false });
    fail(d, hosts[0], 100);
    expect(d.isEjected(hosts[0])).toBe(false);
  });
});

describe("OutlierDetector: success rate", () => {
  const noConsecutive = { consecutiveFailures: 0 };

  it("ejects hosts below mean − factor × stdev", () => {
    const { hosts, ejections, d } = setup(5, noConsecutive);
    for (const h of hosts.slice(0, 4)) traffic(d, h, 20, 0);
    traffic(d, hosts[4], 10, 10);
    d.sweep();
    expect(hosts.map((h) => d.isEjected(h))).toEqual([false, false, false, false, true]);
    expect(ejections).toHaveLength(1);
    expect(ejections[0][1]).toMatch(
      /^success rate 50\.0% is below the cluster's threshold of 70\.0% \(mean 90\.0% − 1 × stdev 20\.0%\); ejected for 1000 ms$/,
    );
  });

  it("resets the interval counters on every sweep", () => {
    const { hosts, d } = setup(3, noConsecutive);
    traffic(d, hosts[0], 5, 5);
    d.sweep();
    expect(hosts[0]).toMatchObject({ successes: 0, failures: 0 });
  });

  it("needs successRateMinimumHosts hosts with successRateRequestVolume calls each", () => {
    const few = setup(5, noConsecutive);
    traffic(few.d, few.hosts[0], 20, 0);
    traffic(few.d, few.hosts[1], 20, 0);
    traffic(few.d, few.hosts[2], 0, 20);
    traffic(few.d, few.hosts[3], 9, 0); // below the volume
    few.d.sweep();
    // Only three qualify, with mean 66.7% and stdev 47.1%: host 2 is below.
    expect(few.d.isEjected(few.hosts[2])).toBe(true);

    const tooFew = setup(5, { ...noConsecutive, successRateMinimumHosts: 4 });
    traffic(tooFew.d, tooFew.hosts[0], 20, 0);
    traffic(tooFew.d, tooFew.hosts[1], 20, 0);
    traffic(tooFew.d, tooFew.hosts[2], 0, 20);
    traffic(tooFew.d, tooFew.hosts[3], 9, 0);
    tooFew.d.sweep();
    expect(tooFew.hosts.some((h) => tooFew.d.isEjected(h))).toBe(false);
  });

  it("ejects nobody when all hosts do equally well or badly", () => {
    const { hosts, d } = setup(4, noConsecutive);
    for (const h of hosts) traffic(d, h, 10, 10);
    d.sweep();
    expect(hosts.some((h) => d.isEjected(h))).toBe(false);
  });

  it("respects maxEjectionPercent too", () => {
    const { hosts, d } = setup(6, { ...noConsecutive, maxEjectionPercent: 20, successRateStdevFactor: 0.5 });
    for (const h of hosts.slice(0, 3)) traffic(d, h, 20, 0);
    for (const h of hosts.slice(3)) traffic(d, h, 0, 20);
    d.sweep();
    expect(hosts.filter((h) => d.isEjected(h))).toHaveLength(2);
  });
});

describe("OutlierDetector: timer", () => {
  it("sweeps every intervalMs once started, and stops", () => {
    vi.useFakeTimers();
    try {
      const { d } = setup(2);
      const sweep = vi.spyOn(d, "sweep");
      d.start();
      d.start();
      vi.advanceTimersByTime(350);
      expect(sweep).toHaveBeenCalledTimes(3);
      d.stop();
      vi.advanceTimersByTime(500);
      expect(sweep).toHaveBeenCalledTimes(3);
    } finally {
      vi.useRealTimers();
    }
  });
});
