/**
 * Smooth weighted round-robin (nginx's algorithm): over any window of
 * sum(weights) picks, each peer is chosen exactly weight times, and picks
 * of a heavy peer are spread out rather than bunched.
 */
export interface WrrPeer {
  weight: number;
  current: number;
}

export function pickSmoothWrr<T extends WrrPeer>(peers: readonly T[]): T | undefined {
  let best: T | undefined;
  let total = 0;
  for (const p of peers) {
    p.current += p.weight;
    total += p.weight;
    if (best === undefined || p.current > best.current) best = p;
  }
  if (best) best.current -= total;
  return best;
}
