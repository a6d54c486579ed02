import { describe, expect, it } from "vitest";
import type { BalancerKind } from "../../config/types.js";
import { PeakEwma } from "./peak-ewma.js";
import { pickerFor, type Peer } from "./pick.js";

/** mulberry32: a tiny seeded PRNG, so statistical checks are repeatable. */
function seeded(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface TestPeer extends Peer {
  name: string;
}

// A frozen clock: latency estimates hold still while we pick.
const frozen = () => 0;

function peer(name: string, weight = 1, latencyMs?: number): TestPeer {
  const ewma = new PeakEwma(10_000, frozen);
  if (latencyMs !== undefined) ewma.observe(latencyMs);
  return { name, weight, current: 0, inflight: 0, ewma };
}

const byWeight = (p: Peer) => p.weight;
const KINDS: BalancerKind[] = ["weighted_round_robin", "random", "p2c_ewma"];

function shares(picks: readonly (TestPeer | undefined)[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const p of picks) out[p!.name] = (out[p!.name] ?? 0) + 1 / picks.length;
  return out;
}

describe.each(KINDS)("pickerFor(%s)", (kind) => {
  it("returns undefined for no candidates and the only one for one", () => {
    const pick = pickerFor(kind, seeded(1));
    expect(pick([] as TestPeer[], byWeight)).toBeUndefined();
    const only = peer("only", 1, 500);
    expect(pick([only], () => 0)).toBe(only);
  });

  it("never picks a zero-weight peer while another has weight", () => {
    const pick = pickerFor(kind, seeded(2));
    const peers = [peer("a"), peer("zero"), peer("b")];
    const picks = Array.from({ length: 1000 }, () => pick(peers, (p) => (p.name === "zero" ? 0 : 1)));
    expect(picks.some((p) => p!.name === "zero")).toBe(false);
  });

  it("still picks when every weight is zero (treating them as equal)", () => {
    const pick = pickerFor(kind, seeded(3));
    const peers = [peer("a"), peer("b")];
    const s = shares(Array.from({ length: 2000 }, () => pick(peers, () => 0)));
    if (kind !== "p2c_ewma") {
      expect(s.a).toBeCloseTo(0.5, 1);
      expect(s.b).toBeCloseTo(0.5, 1);
    } else {
      expect((s.a ?? 0) + (s.b ?? 0)).toBeCloseTo(1, 9);
    }
  });
});

describe("weighted_round_robin", () => {
  it("gives each peer its effective weight per cycle, spread out", () => {
    const pick = pickerFor("weighted_round_robin");
    // Configured weights are all 1; the effective weight (e.g. slow start) is what counts.
    const peers = [peer("a"), peer("b"), peer("c")];
    const eff = (p: TestPeer) => ({ a: 1, b: 1, c: 2 })[p.name]!;
    const seq = Array.from({ length: 8 }, () => pick(peers, eff)!.name);
    expect(seq.filter((n) => n === "c")).toHaveLength(4);
    expect(seq.filter((n) => n === "a")).toHaveLength(2);
    for (let i = 0; i + 4 <= seq.length; i++) expect(seq.slice(i, i + 4).filter((n) => n === "c")).toHaveLength(2);
  });

  it("handles fractional weights such as a slow-starting peer's", () => {
    const pick = pickerFor("weighted_round_robin");
    const peers = [peer("warm"), peer("new")];
    const s = shares(Array.from({ length: 1100 }, () => pick(peers, (p) => (p.name === "new" ? 0.1 : 1))));
    expect(s.new! * 1100).toBeCloseTo(100, 6);
  });
});

describe("random", () => {
  it("matches weights 1:1:2 within a tolerance", () => {
    const pick = pickerFor("random", seeded(42));
    const peers = [peer("a", 1), peer("b", 1), peer("c", 2)];
    const s = shares(Array.from({ length: 20_000 }, () => pick(peers, byWeight)));
    expect(Math.abs(s.a! - 0.25)).toBeLessThan(0.015);
    expect(Math.abs(s.b! - 0.25)).toBeLessThan(0.015);
    expect(Math.abs(s.c! - 0.5)).toBeLessThan(0.015);
  });
});

describe("p2c_ewma", () => {
  it("keeps the cheaper of two: latency × (in-flight + 1) / weight", () => {
    const pick = pickerFor("p2c_ewma", seeded(7));
    const fastButBusy = Object.assign(peer("fastButBusy", 1, 1), { inflight: 20 }); // cost 21
    const slowButIdle = peer("slowButIdle", 1, 10); // cost 10
    for (let i = 0; i < 100; i++) expect(pick([fastButBusy, slowButIdle], byWeight)!.name).toBe("slowButIdle");
    const heavy = peer("heavy", 4, 10); // cost 2.5 with weight 4
    const light = peer("light", 1, 5); // cost 5
    for (let i = 0; i < 100; i++) expect(pick([heavy, light], byWeight)!.name).toBe("heavy");
  });

  it("compares two distinct peers, so a lone slow peer can never be chosen against itself", () => {
    const pick = pickerFor("p2c_ewma", seeded(8));
    const peers = [peer("a", 1, 10), peer("b", 1, 10), peer("slow", 1, 100)];
    const picks = Array.from({ length: 10_000 }, () => pick(peers, byWeight));
    expect(picks.filter((p) => p!.name === "slow")).toHaveLength(0);
    // The two equal peers split the rest evenly (the first draw wins ties).
    const s = shares(picks);
    expect(Math.abs(s.a! - 0.5)).toBeLessThan(0.02);
  });

  it("shifts traffic away from a peer with 10x latency under load", () => {
    // A closed simulation: each tick one call arrives and is placed; every
    // in-flight call on a peer finishes with probability 1/latency per tick.
    const latency: Record<string, number> = { a: 4, b: 4, c: 4, slow: 40 };
    function run(kind: BalancerKind): Record<string, number> {
      const random = seeded(2024);
      const pick = pickerFor(kind, random);
      const peers = Object.keys(latency).map((n) => peer(n, 1, latency[n]));
      const picks: TestPeer[] = [];
      for (let tick = 0; tick < 10_000; tick++) {
        for (const p of peers) {
          let done = 0;
          for (let k = 0; k < p.inflight; k++) if (random() < 1 / latency[p.name]!) done++;
          p.inflight -= done;
        }
        const p = pick(peers, byWeight)!;
        p.inflight++;
        picks.push(p);
      }
      return shares(picks);
    }
    const p2c = run("p2c_ewma");
    const random = run("random");
    expect(Math.abs(random.slow! - 0.25)).toBeLessThan(0.02);
    expect(p2c.slow ?? 0).toBeLessThan(0.05);
    for (const n of ["a", "b", "c"]) expect(Math.abs(p2c[n]! - (1 - (p2c.slow ?? 0)) / 3)).toBeLessThan(0.03);
  });

  it("follows weights between peers of equal latency under load", () => {
    const random = seeded(99);
    const pick = pickerFor("p2c_ewma", random);
    const peers = [peer("one", 1, 5), peer("three", 3, 5)];
    const picks: TestPeer[] = [];
    for (let tick = 0; tick < 20_000; tick++) {
      for (const p of peers) {
        let done = 0;
        for (let k = 0; k < p.inflight; k++) if (random() < 0.2) done++;
        p.inflight -= done;
      }
      const p = pick(peers, byWeight)!;
      p.inflight++;
      picks.push(p);
    }
    // In-flight counts settle near the 1:3 ratio that equalizes cost.
    expect(shares(picks).three).toBeGreaterThan(0.65);
    expect(shares(picks).three).toBeLessThan(0.85);
  });
});
