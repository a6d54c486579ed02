import { type HashPeer, type HashTable, murmur3 } from "./hash.js";

// Ketama-style consistent hashing: every endpoint gets points on a 32-bit
// ring in proportion to its weight, the ring has at least MIN_RING_SIZE
// points (Envoy's minimum_ring_size), and a key goes to the first point at or
// after its hash. Unlike Envoy, the points per unit of weight are a power of
// two (see pointsPerWeight), so an endpoint keeps the same points when a
// neighbour joins or leaves and only that neighbour's keys move. Removing one endpoint moves only the keys whose
// first point was its own; the ones it refuses now (unavailable, or tried by
// this call) go to the next distinct endpoint clockwise, not everywhere.

/** Envoy's default minimum_ring_size. */
export const MIN_RING_SIZE = 1024;
/** Envoy's default maximum_ring_size is 8M; gateways here list tens of endpoints, not thousands. */
export const MAX_RING_SIZE = 1 << 20;

export class RingHash<T extends HashPeer> implements HashTable<T> {
  /** Point hashes, ascending, and the endpoint index at each. */
  private readonly points: Uint32Array;
  private readonly owners: Int32Array;

  constructor(
    private readonly peers: readonly T[],
    minRingSize = MIN_RING_SIZE,
  ) {
    const ws = peers.map((p) => (p.weight > 0 ? p.weight : 0));
    const total = ws.reduce((a, b) => a + b, 0);
    const weights = total > 0 ? ws : ws.map(() => 1);
    const perUnit = pointsPerWeight(total > 0 ? total : peers.length, minRingSize);
    const entries: Array<[number, number]> = [];
    peers.forEach((p, i) => {
      const count = weights[i]! > 0 ? Math.max(1, Math.round(weights[i]! * perUnit)) : 0;
      for (let k = 0; k < count; k++) entries.push([murmur3(`${p.address}_${k}`), i]);
    });
    // Ties (vanishingly rare) resolve by address so every gateway builds the same ring.
    entries.sort((a, b) => a[0] - b[0] || (peers[a[1]]!.address < peers[b[1]]!.address ? -1 : 1));
    this.points = Uint32Array.from(entries, (e) => e[0]);
    this.owners = Int32Array.from(entries, (e) => e[1]);
  }

  get size(): number {
    return this.points.length;
  }

  pick(hash: number, accept: (peer: T) => boolean): T | undefined {
    const n = this.points.length;
    if (n === 0) return undefined;
    const start = this.lowerBound(hash >>> 0);
    // Walk clockwise to the first accepted endpoint; each is asked once.
    const asked = new Set<number>();
    for (let step = 0; step < n && asked.size < this.peers.length; step++) {
      const i = this.owners[(start + step) % n]!;
      if (asked.has(i)) continue;
      asked.add(i);
      const p = this.peers[i]!;
      if (accept(p)) return p;
    }
    return undefined;
  }

  /** First point with hash >= h (wrapping to 0). */
  private lowerBound(h: number): number {
    let lo = 0;
    let hi = this.points.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.points[mid]! < h) lo = mid + 1;
      else hi = mid;
    }
    return lo === this.points.length ? 0 : lo;
  }
}

/**
 * Points per unit of weight: the smallest power of two that gives the ring
 * at least `minRingSize` points (fewer, down to one per endpoint, past
 * MAX_RING_SIZE). A power of two rather than exactly minRingSize / total:
 * then removing one of ten endpoints leaves the other nine with the points
 * they had (128 each), where an exact scale (103 each, then 114) would add
 * points everywhere and move about half as many keys again.
 */
export function pointsPerWeight(totalWeight: number, minRingSize = MIN_RING_SIZE): number {
  if (totalWeight <= 0) return 1;
  let per = 1;
  while (per * totalWeight < minRingSize) per *= 2;
  while (per * totalWeight > MAX_RING_SIZE && per > 1 / totalWeight) per /= 2;
  return per;
}
