import { parseDuration } from "./duration.js";
import { formatValue, problemAt, type PathSegment, type Problem } from "./problems.js";

/**
 * Range checks for a duration the schema let through (its pattern cannot see
 * magnitudes). Non-durations are ignored: the schema already complained.
 */
export function checkDuration(at: PathSegment[], value: unknown, opts: { allowZero: boolean }): Problem[] {
  if (typeof value !== "string" && typeof value !== "number") return [];
  try {
    const ms = parseDuration(value);
    if (ms === 0 && !opts.allowZero) return [problemAt(at, `${formatValue(value)} must be greater than 0`)];
    return [];
  } catch (err) {
    return [problemAt(at, (err as Error).message)];
  }
}
