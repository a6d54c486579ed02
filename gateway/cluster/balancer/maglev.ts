import { type HashPeer, type HashTable, fmix32, murmur3 } from "./hash.js";

// Maglev (Google's, as Envoy's maglev balancer builds it): a lookup table of
// a prime size in which every endpoint takes slots along its own permutation
// (offset and skip from two hashes of its address), in turns weighted by
// weight. Lookups are one array read; a change of endpoints moves few keys.
//
// A key whose slot holds an endpoint `accept` refuses (unavailable, or tried
// by this call) is hashed again with the attempt number, as Envoy does for
// retries, until an accepted endpoint comes up: no other key moves, and the
// refused endpoint's keys spread over the others, each key consistently.

/** Envoy's default table_size. */
export const MAGLEV_TABLE_SIZE = 65537;

export class Maglev<T extends HashPeer> implements HashTable<T> {
  private readonly table: Int32Array;
  /** Peers sorted by address: the table must not depend on the order a list came in. */
  private readonly peers: readonly T[];

  constructor(peers: readonly T[], tableSize = MAGLEV_TABLE_SIZE) {
    this.peers = [...peers].sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0));
    const m = tableSize;
    this.table = new Int32Array(peers.length === 0 ? 0 : m).fill(-1);
    if (peers.length === 0) return;
    const ws = this.peers.map((p) => Math.max(p.weight, 0));
    const maxW = Math.max(...ws) || 1;
    const weights = ws.some((w) => w > 0) ? ws : ws.map(() => 1);
    const next = this.peers.map((p) => murmur3(p.address, 0x9e3779b9) % m);
    const skip = this.peers.map((p) => (murmur3(p.address, 0x85ebca6b) % (m - 1)) + 1);
    const target = this.peers.map(() => 0);
    let filled = 0;
    for (let iteration = 1; filled < m; iteration++) {
      for (let i = 0; i < this.peers.length && filled < m; i++) {
        // A peer of the largest weight takes a slot every turn, one of a third of it every third turn.
        if (iteration * weights[i]! < target[i]!) continue;
        target[i]! += maxW;
        let c = next[i]!;
        while (this.table[c] !== -1) c = (c + skip[i]!) % m;
        this.table[c] = i;
        next[i] = (c + skip[i]!) % m;
        filled++;
      }
    }
  }

  pick(hash: number, accept: (peer: T) => boolean): T | undefined {
    const m = this.table.length;
    if (m === 0) return undefined;
    const n = this.peers.length;
    // Rehashing finds every accepted peer with overwhelming odds well within
    // this many tries; the scan after it makes the answer certain.
    const tries = 8 * n + 8;
    let h = hash >>> 0;
    for (let attempt = 0; attempt < tries; attempt++) {
      const p = this.peers[this.table[h % m]!]!;
      if (accept(p)) return p;
      h = fmix32((hash ^ Math.imul(attempt + 1, 0x9e3779b9)) >>> 0);
    }
    for (let k = 0; k < n; k++) {
      const p = this.peers[(hash + k) % n]!;
      if (accept(p)) return p;
    }
    return undefined;
  }
}
