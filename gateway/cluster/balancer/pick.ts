import type { BalancerKind } from "../../config/types.js";
import type { PeakEwma } from "./peak-ewma.js";

// The three balancers share one shape so the cluster can swap them by
// config. Candidates are whatever the cluster considers usable right now
// (healthy, breaker closed, under the in-flight cap, not yet tried by this
// call); effectiveWeight folds in slow start and anything else that scales
// an endpoint's configured weight.

export interface Peer {
  weight: number;
  /** Smooth WRR state; only weighted_round_robin reads or writes it. */
  current: number;
  inflight: number;
  ewma: PeakEwma;
}

export type Pick = <T extends Peer>(candidates: readonly T[], effectiveWeight: (p: T) => number) => T | undefined;

export function pickerFor(kind: BalancerKind, random: () => number = Math.random): Pick {
  switch (kind) {
    case "weighted_round_robin":
      return pickWrr;
    case "random":
    // Consistent hashing picks by key (Cluster, with ring-hash.ts or maglev.ts); a call without one goes anywhere.
    case "ring_hash":
    case "maglev":
      return (candidates, w) => pickWeightedRandom(candidates, weights(candidates, w), random);
    case "p2c_ewma":
      return (candidates, w) => pickP2cEwma(candidates, w, random);
  }
}

/**
 * Non-negative weights; if none is positive, equal ones. A candidate list
 * whose every weight is zero is still a list of usable endpoints, and
 * failing the call because of arithmetic would be worse than ignoring weight.
 */
function weights<T>(candidates: readonly T[], effectiveWeight: (p: T) => number): number[] {
  const ws = candidates.map((c) => {
    const w = effectiveWeight(c);
    return Number.isFinite(w) && w > 0 ? w : 0;
  });
  return ws.some((w) => w > 0) ? ws : ws.map(() => 1);
}

/**
 * Smooth weighted round-robin (nginx), as pickSmoothWrr in smooth-wrr.ts but
 * with the effective weight, so a slow-starting endpoint's share grows
 * smoothly. Works with fractional weights and with candidate lists that
 * change between picks (skipped peers simply keep their `current`).
 */
function pickWrr<T extends Peer>(candidates: readonly T[], effectiveWeight: (p: T) => number): T | undefined {
  if (candidates.length <= 1) return candidates[0];
  const ws = weights(candidates, effectiveWeight);
  let best = -1;
  let total = 0;
  candidates.forEach((p, i) => {
    p.current += ws[i]!;
    total += ws[i]!;
    if (best < 0 || p.current > candidates[best]!.current) best = i;
  });
  const chosen = candidates[best]!;
  chosen.current -= total;
  return chosen;
}

/** Index drawn with probability proportional to weight; `skip` is excluded. */
function drawIndex(ws: readonly number[], random: () => number, skip = -1): number {
  let total = 0;
  ws.forEach((w, i) => (total += i === skip ? 0 : w));
  let r = random() * total;
  let last = -1;
  for (let i = 0; i < ws.length; i++) {
    if (i === skip || ws[i]! <= 0) continue;
    last = i;
    r -= ws[i]!;
    if (r < 0) return i;
  }
  // Float rounding can leave r a hair above 0 at the end: that is the last peer's draw.
  return last;
}

function pickWeightedRandom<T>(candidates: readonly T[], ws: readonly number[], random: () => number): T | undefined {
  if (candidates.length <= 1) return candidates[0];
  return candidates[drawIndex(ws, random)];
}

/**
 * Power of two choices over peak-EWMA cost (Finagle, Linkerd): draw two
 * distinct candidates (weighted), keep the cheaper. Cost is latency ×
 * (in-flight + 1) / weight: the +1 counts the call being placed, so an idle
 * endpoint's latency still matters. Two random choices instead of the global
 * minimum avoid herding every concurrent pick onto the same endpoint between
 * updates, and still cut the worst load exponentially compared with one.
 */
function pickP2cEwma<T extends Peer>(
  candidates: readonly T[],
  effectiveWeight: (p: T) => number,
  random: () => number,
): T | undefined {
  if (candidates.length <= 1) return candidates[0];
  const ws = weights(candidates, effectiveWeight);
  const a = drawIndex(ws, random);
  const b = drawIndex(ws, random, a);
  // Only one candidate has any weight: there is no second choice to make.
  if (b < 0) return candidates[a];
  const cost = (i: number) => {
    const p = candidates[i]!;
    return (p.ewma.value * (p.inflight + 1)) / ws[i]!;
  };
  return cost(b) < cost(a) ? candidates[b] : candidates[a];
}
