// Envoy's priority-level arithmetic ("Priority levels" in Envoy's load
// balancing docs), in integer percents as Envoy computes it:
//
//   health(P) = min(100, floor(factor% × healthy(P) / total(P)))
//   normalized = min(100, Σ health)
//   load(P)   = min(100 − Σ load(earlier levels), floor(health(P) × 100 / normalized))
//
// and whatever rounding leaves over goes to the first level with any health.
// A level keeps all traffic while healthy share × factor ≥ 100% (with the
// default 1.4, until fewer than ~72% of its endpoints are healthy), then
// spills the rest to the next level in proportion. When the levels together
// have less than 100 health, the loads are scaled up so they still add up to
// 100: every call goes somewhere that can take it.

/** A level's health score, 0..100: its healthy share times the overprovisioning factor, capped. */
export function levelHealth(healthy: number, total: number, overprovisioningFactor: number): number {
  if (total <= 0 || healthy <= 0) return 0;
  // Envoy keeps the factor as an integer percent (140) and divides with integers.
  const factorPercent = Math.round(overprovisioningFactor * 100);
  return Math.min(100, Math.floor((factorPercent * healthy) / total));
}

/**
 * Percent of calls each level gets, from the levels' health scores in
 * priority order. Adds up to 100, or is all zeros when no level has any
 * health (the caller's panic case).
 */
export function priorityLoad(health: readonly number[]): number[] {
  const load = health.map(() => 0);
  let total = 0;
  for (const h of health) total += h;
  const normalized = Math.min(100, total);
  if (normalized === 0) return load;
  let left = 100;
  let first = -1;
  health.forEach((h, i) => {
    if (first < 0 && h > 0) first = i;
    load[i] = Math.min(left, Math.floor((h * 100) / normalized));
    left -= load[i]!;
  });
  // Rounding only: at most one percent per level.
  if (left > 0) load[first]! += left;
  return load;
}

/** The level a call goes to, for `r` in 0..99 (a uniform draw, or a key's hash mod 100). */
export function chooseLevel(load: readonly number[], r: number): number {
  let acc = 0;
  for (let i = 0; i < load.length; i++) {
    acc += load[i]!;
    if (r < acc) return i;
  }
  return load.length - 1;
}
