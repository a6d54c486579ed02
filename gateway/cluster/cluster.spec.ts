import { afterEach, describe, expect, it } from "vitest";
import type { BalancerKind, EndpointConfig } from "../config/types.js";
import { Cluster } from "./cluster.js";
import type { Endpoint } from "./endpoint.js";
import { EndpointSet } from "./endpoint-set.js";
import { murmur3 } from "./balancer/hash.js";
import { clusterConfig, endpointAt as ep } from "../../test/helpers/cluster-config.js";

const sets: EndpointSet[] = [];
afterEach(async () => {
  await Promise.all(sets.splice(0).map((s) => s.close()));
});

/** mulberry32, so shares are repeatable. */
function seeded(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A cluster whose endpoints have health checkers that never run: a test sets their verdict. */
function clusterOf(endpoints: EndpointConfig[], balancer: BalancerKind = "random", factor = 1.4) {
  const config = clusterConfig(endpoints);
  config.resilience.healthCheck.enabled = true;
  config.resilience.slowStartMs = 0;
  config.resilience.balancer = balancer;
  config.resilience.overprovisioningFactor = factor;
  if (balancer === "ring_hash" || balancer === "maglev") config.resilience.hashOn = { header: "x-user-id" };
  const set = new EndpointSet(config);
  sets.push(set);
  return { set, cluster: new Cluster(config, set, seeded(7)) };
}

function setHealthy(e: Endpoint, healthy: boolean): void {
  (e.health as unknown as { isHealthy: boolean }).isHealthy = healthy;
}

/** Share of picks per priority level ("none" for no endpoint). */
function shares(picks: readonly (Endpoint | undefined)[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const p of picks) {
    const k = p ? String(p.priority) : "none";
    counts[k] = (counts[k] ?? 0) + 1;
  }
  for (const k in counts) counts[k]! /= picks.length;
  return counts;
}

const primariesAndStandbys = () => [ep(1, 1, 0), ep(2, 1, 0), ep(3, 1, 1), ep(4, 1, 1)];
const N = 10_000;

describe("Cluster: priority levels", () => {
  it("keeps every call on P0 while it is healthy, spills 30% with one of two down, all with both down", () => {
    const { set, cluster } = clusterOf(primariesAndStandbys());
    const [p1, p2] = set.list;
    const run = () => shares(Array.from({ length: N }, () => cluster.pick()));
    expect(run()).toEqual({ 0: 1 });
    setHealthy(p1!, false);
    const half = run();
    expect(Math.abs(half[0]! - 0.7)).toBeLessThan(0.02);
    expect(Math.abs(half[1]! - 0.3)).toBeLessThan(0.02);
    setHealthy(p2!, false);
    expect(run()).toEqual({ 1: 1 });
    setHealthy(p1!, true);
    setHealthy(p2!, true);
    expect(run()).toEqual({ 0: 1 });
  });

  it("holds P0 with 3 of 4 healthy (75% × 1.4 ≥ 100%) and reads the factor", () => {
    const eps = [ep(1), ep(2), ep(3), ep(4), ep(5, 1, 1)];
    const a = clusterOf(eps);
    setHealthy(a.set.list[0]!, false);
    expect(shares(Array.from({ length: 2000 }, () => a.cluster.pick()))).toEqual({ 0: 1 });
    // With factor 1, 75% healthy keeps 75% of calls.
    const b = clusterOf(eps, "random", 1);
    setHealthy(b.set.list[0]!, false);
    expect(Math.abs(shares(Array.from({ length: N }, () => b.cluster.pick()))[0]! - 0.75)).toBeLessThan(0.02);
  });

  it("sends a retry to the standby once the call has tried every primary, even before they are marked down", () => {
    const { set, cluster } = clusterOf(primariesAndStandbys());
    const [p1, p2] = set.list;
    const tried = new Set([p1!, p2!]);
    expect(cluster.pick(tried)!.priority).toBe(1);
    expect(cluster.pickUntried(tried)!.priority).toBe(1);
    // Everything tried: a retry may go back (pick), a hedge may not (pickUntried).
    const everything = new Set(set.list);
    expect(cluster.pick(everything)).toBeDefined();
    expect(cluster.pickUntried(everything)).toBeUndefined();
  });

  it("ignores ejection only when nothing else is left (panic routing), never failed health checks", () => {
    const { set, cluster } = clusterOf([ep(1)]);
    const only = set.list[0]!;
    for (let i = 0; i < 5; i++) only.leave(false, true);
    only.inflight = 0;
    expect(set.outliers.isEjected(only.outlier)).toBe(true);
    expect(cluster.pick()).toBe(only);
    setHealthy(only, false);
    expect(cluster.pick()).toBeUndefined();
    expect(cluster.unavailableMessage()).toContain("failing health checks");
  });

  it("goes to another level when the chosen one is busy (every endpoint at maxInFlight)", () => {
    const { set, cluster } = clusterOf([ep(1), ep(2, 1, 1)]);
    set.list[0]!.inflight = 1_000_000;
    expect(cluster.pick()!.priority).toBe(1);
  });
});

describe.each(["ring_hash", "maglev"] as const)("Cluster: %s", (balancer) => {
  const keys = Array.from({ length: 1000 }, (_, i) => murmur3(`user-${i}`));

  it("sends a key to the same endpoint every time, and a retry or hedge to another one", () => {
    const { cluster } = clusterOf([ep(1), ep(2), ep(3), ep(4)], balancer);
    for (const h of keys.slice(0, 200)) {
      const first = cluster.pick(undefined, h)!;
      expect(cluster.pick(undefined, h)).toBe(first);
      const second = cluster.pickUntried(new Set([first]), h)!;
      expect(second).not.toBe(first);
      expect(cluster.pick(new Set([first]), h)).toBe(second);
    }
  });

  it("moves only an unhealthy endpoint's keys, and moves them back when it recovers", () => {
    const { set, cluster } = clusterOf([ep(1), ep(2), ep(3), ep(4)], balancer);
    const before = keys.map((h) => cluster.pick(undefined, h)!);
    const down = set.list[2]!;
    setHealthy(down, false);
    const during = keys.map((h) => cluster.pick(undefined, h)!);
    before.forEach((e, i) => {
      if (e !== down) expect(during[i]).toBe(e);
      else expect(during[i]).not.toBe(down);
    });
    setHealthy(down, true);
    expect(keys.map((h) => cluster.pick(undefined, h)!)).toEqual(before);
  });

  it("rebuilds its table when the endpoint list changes", () => {
    const ten = Array.from({ length: 10 }, (_, i) => ep(i + 1));
    const { set, cluster } = clusterOf(ten, balancer);
    const before = keys.map((h) => cluster.pick(undefined, h)!.address);
    set.reconcile([...ten, ep(11)]);
    const after = keys.map((h) => cluster.pick(undefined, h)!.address);
    expect(after).toContain("127.0.0.1:11");
    // An eleventh endpoint should take about 1/11 of the keys, from the others.
    const moved = before.filter((a, i) => a !== after[i]).length;
    expect(moved).toBeLessThan(1000 * (1 / 11 + 0.04));
    set.reconcile([ep(1), ep(2)]);
    expect(new Set(keys.map((h) => cluster.pick(undefined, h)!.address))).toEqual(
      new Set(["127.0.0.1:1", "127.0.0.1:2"]),
    );
  });

  it("keeps a key on one level while the primaries are partly down, and spreads keyless calls", () => {
    const { set, cluster } = clusterOf(primariesAndStandbys(), balancer);
    setHealthy(set.list[0]!, false);
    for (const h of keys.slice(0, 100)) {
      const first = cluster.pick(undefined, h)!;
      for (let i = 0; i < 5; i++) expect(cluster.pick(undefined, h)).toBe(first);
    }
    const s = shares(keys.map((h) => cluster.pick(undefined, h)));
    expect(Math.abs(s[0]! - 0.7)).toBeLessThan(0.06);
    const keyless = new Set(Array.from({ length: 200 }, () => cluster.pick()!.address));
    expect(keyless.size).toBe(3);
  });

  it("reads the key from the header hashOn names", () => {
    const { cluster } = clusterOf([ep(1), ep(2)], balancer);
    const head = (metadata: Record<string, string>) => ({ metadata }) as unknown as Parameters<Cluster["callHash"]>[0];
    expect(cluster.callHash(head({ "x-user-id": "alice" }))).toBe(murmur3("alice"));
    expect(cluster.callHash(head({}))).toBeUndefined();
    expect(cluster.callHash(head({ "x-user-id": "" }))).toBeUndefined();
  });
});
