import { describe, expect, it } from "vitest";
import { type HashPeer, type HashTable, murmur3 } from "./hash.js";
import { Maglev } from "./maglev.js";
import { MIN_RING_SIZE, RingHash, pointsPerWeight } from "./ring-hash.js";

// Properties both consistent-hash balancers must have, checked over 10,000
// keys: stickiness, few keys moved when an endpoint leaves, unavailable
// endpoints' keys going elsewhere without disturbing the rest, and weights.

const KEYS = Array.from({ length: 10_000 }, (_, i) => murmur3(`user-${i}`));
const peers = (n: number, weight = (i: number) => 1 + 0 * i): HashPeer[] =>
  Array.from({ length: n }, (_, i) => ({ address: `10.0.0.${i + 1}:50051`, weight: weight(i) }));
const all = () => true;

function assign(t: HashTable<HashPeer>, accept: (p: HashPeer) => boolean = all): string[] {
  return KEYS.map((k) => t.pick(k, accept)!.address);
}

function shares(owners: readonly string[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const o of owners) m.set(o, (m.get(o) ?? 0) + 1 / owners.length);
  return m;
}

const KINDS = [
  ["ring_hash", (p: HashPeer[]) => new RingHash(p)],
  ["maglev", (p: HashPeer[]) => new Maglev(p)],
] as const;

describe.each(KINDS)("%s", (_name, build) => {
  it("maps a key to the same endpoint every time, and the same on a table built again in another order", () => {
    const ps = peers(10);
    const a = assign(build(ps));
    expect(assign(build(ps))).toEqual(a);
    expect(assign(build([...ps].reverse()))).toEqual(a);
  });

  it("spreads equal endpoints evenly (each within 10% ± 2.5%)", () => {
    for (const s of shares(assign(build(peers(10)))).values()) expect(Math.abs(s - 0.1)).toBeLessThan(0.025);
  });

  it("moves at most ~12% of keys when one of 10 endpoints is removed, and only that endpoint's keys", () => {
    const ps = peers(10);
    const before = assign(build(ps));
    const gone = ps[3]!.address;
    const after = assign(build(ps.filter((p) => p.address !== gone)));
    const moved = before.filter((o, i) => o !== after[i]).length;
    console.log(
      `[hash] ${_name}: removing 1 of 10 endpoints moved ${((moved / KEYS.length) * 100).toFixed(2)}% of ${KEYS.length} keys`,
    );
    expect(moved / KEYS.length).toBeLessThanOrEqual(0.12);
    // Ring hash moves exactly the removed endpoint's keys; Maglev a few more (the table is rebuilt).
    const own = before.filter((o) => o === gone).length;
    if (_name === "ring_hash") expect(moved).toBe(own);
    else expect(moved - own).toBeLessThan(0.02 * KEYS.length);
  });

  it("sends an unavailable endpoint's keys elsewhere, consistently, and leaves every other key in place", () => {
    const ps = peers(10);
    const t = build(ps);
    const before = assign(t);
    const down = ps[6]!.address;
    const after = assign(t, (p) => p.address !== down);
    expect(after.includes(down)).toBe(false);
    before.forEach((o, i) => {
      if (o !== down) expect(after[i]).toBe(o);
    });
    expect(assign(t, (p) => p.address !== down)).toEqual(after);
  });

  it("respects weights approximately", () => {
    const ps = peers(4, (i) => [1, 1, 2, 4][i]!);
    const s = shares(assign(build(ps)));
    const expected = [0.125, 0.125, 0.25, 0.5];
    ps.forEach((p, i) => expect(Math.abs(s.get(p.address)! - expected[i]!)).toBeLessThan(0.03));
  });

  it("walks to a different endpoint for each refusal (a retry's next distinct endpoint), and gives up only when all refuse", () => {
    const ps = peers(5);
    const t = build(ps);
    for (const k of KEYS.slice(0, 200)) {
      const tried = new Set<HashPeer>();
      for (let n = 0; n < 5; n++) {
        const p = t.pick(k, (x) => !tried.has(x));
        expect(p).toBeDefined();
        tried.add(p!);
      }
      expect(tried.size).toBe(5);
      expect(t.pick(k, (x) => !tried.has(x))).toBeUndefined();
    }
  });

  it("handles no endpoints and a single one", () => {
    expect(build([]).pick(1, all)).toBeUndefined();
    const one = peers(1);
    expect(build(one).pick(123, all)).toBe(one[0]);
  });
});

describe("RingHash specifics", () => {
  it("has at least the minimum ring size, with points in proportion to weight", () => {
    const r = new RingHash(peers(3, (i) => i + 1));
    expect(r.size).toBeGreaterThanOrEqual(MIN_RING_SIZE);
    expect(r.size).toBeLessThan(MIN_RING_SIZE * 2);
    expect(r.size).toBe(6 * pointsPerWeight(6));
  });

  it("keeps each endpoint's points when a neighbour leaves (10 and 9 endpoints: 128 points per weight)", () => {
    expect(pointsPerWeight(10)).toBe(128);
    expect(pointsPerWeight(9)).toBe(128);
    expect(pointsPerWeight(1)).toBe(1024);
    expect(pointsPerWeight(5000)).toBe(1);
  });

  it("sends an unavailable endpoint's keys to the next endpoint on the ring, not everywhere", () => {
    const ps = peers(10);
    const r = new RingHash(ps);
    const down = ps[2]!.address;
    const before = assign(r);
    const after = assign(r, (p) => p.address !== down);
    const moved = before.map((o, i) => (o === down ? after[i]! : undefined)).filter((x) => x !== undefined);
    const spread = new Set(moved);
    // Keys of one endpoint reach several others (its ~100 points have different successors) ...
    expect(spread.size).toBeGreaterThan(3);
    // ... while each key stays on its own successor, call after call.
    expect(assign(r, (p) => p.address !== down)).toEqual(after);
  });
});

describe("Maglev specifics", () => {
  it("fills its whole table of 65537 slots", () => {
    const m = new Maglev(peers(3));
    const s = shares(assign(m));
    expect(s.size).toBe(3);
  });
});
