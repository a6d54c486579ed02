// The hashes the consistent-hash balancers (ring-hash.ts, maglev.ts) share:
// MurmurHash3 (x86, 32-bit) over a string's UTF-16 code units, two per
// block. It is fast in JS (no BigInt, no allocation) and avalanches well, so
// keys that differ by one character ("user-1", "user-2") land far apart.
// Every gateway instance hashes the same key to the same value, so a fleet
// of gateways in front of the same endpoints agrees on where a key goes.

export function murmur3(s: string, seed = 0): number {
  let h = seed >>> 0;
  const n = s.length;
  let i = 0;
  for (; i + 1 < n; i += 2) h = mixBlock(h, s.charCodeAt(i) | (s.charCodeAt(i + 1) << 16));
  if (i < n) {
    let k = Math.imul(s.charCodeAt(i), 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    h ^= Math.imul(k, 0x1b873593);
  }
  h ^= n * 2;
  return fmix32(h);
}

function mixBlock(h: number, block: number): number {
  let k = Math.imul(block, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  h ^= Math.imul(k, 0x1b873593);
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

/** Murmur3's finalizer: a bijection on 32-bit values with full avalanche; also used to derive further hashes from one. */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** What a consistent-hash table is built from: an address to hash and a configured weight. */
export interface HashPeer {
  address: string;
  weight: number;
}

/**
 * A consistent-hash table over one priority level's endpoints. pick() maps a
 * 32-bit key hash to an endpoint, walking on (deterministically, per key) past
 * endpoints `accept` refuses: unavailable ones, or ones this call tried.
 */
export interface HashTable<T extends HashPeer> {
  pick(hash: number, accept: (peer: T) => boolean): T | undefined;
}
