import { Code, parseCodeName } from "../call/status.js";
import { checkDuration } from "./check-duration.js";
import { parseDuration } from "./duration.js";
import { formatValue, problemAt, type PathSegment, type Problem } from "./problems.js";
import { closestMatch } from "./suggest.js";

// What the schema cannot say about a cluster's resilience keys: duration
// magnitudes, status code names (lower case and typos), and pairs of values
// that contradict each other. Like every semantic check this runs on input
// the schema may have rejected, so it ignores anything of the wrong shape.

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => v !== null && typeof v === "object" && !Array.isArray(v);

/** Enum members only (a numeric enum also maps numbers back to names). */
const CODE_NAMES = Object.keys(Code).filter((k) => !/^\d+$/.test(k));

/** [section, key, zero allowed]; zero is refused where it would mean a busy loop or an instant failure. */
const DURATIONS: readonly [string, string, boolean][] = [
  ["circuitBreaker", "rollingWindow", false],
  ["circuitBreaker", "resetTimeout", false],
  ["retryPolicy", "initialBackoff", false],
  ["retryPolicy", "maxBackoff", false],
  ["hedgingPolicy", "minDelay", true],
  ["healthCheck", "interval", false],
  ["healthCheck", "timeout", false],
  ["outlierDetection", "baseEjectionTime", false],
  ["outlierDetection", "maxEjectionTime", false],
  ["outlierDetection", "interval", false],
];

export function checkResilience(at: readonly PathSegment[], cluster: Obj): Problem[] {
  const problems = checkDuration([...at, "slowStart"], cluster.slowStart, { allowZero: true });
  for (const [name, key, allowZero] of DURATIONS) {
    const s = cluster[name];
    if (isObj(s)) problems.push(...checkDuration([...at, name, key], s[key], { allowZero }));
  }
  const hedging = cluster.hedgingPolicy;
  if (isObj(hedging) && hedging.hedgingDelay !== "auto") {
    // 0 is valid: send every hedge at once (A6).
    problems.push(
      ...checkDuration([...at, "hedgingPolicy", "hedgingDelay"], hedging.hedgingDelay, { allowZero: true }),
    );
  }
  problems.push(
    ...checkCodes([...at, "retryPolicy", "retryableStatusCodes"], cluster.retryPolicy, "retryableStatusCodes"),
  );
  problems.push(
    ...checkCodes([...at, "hedgingPolicy", "nonFatalStatusCodes"], cluster.hedgingPolicy, "nonFatalStatusCodes"),
  );
  problems.push(...checkOrder([...at, "retryPolicy"], cluster.retryPolicy, "initialBackoff", "maxBackoff"));
  problems.push(
    ...checkOrder([...at, "outlierDetection"], cluster.outlierDetection, "baseEjectionTime", "maxEjectionTime"),
  );
  problems.push(...checkHashOn(at, cluster));
  return problems;
}

/** ring_hash and maglev need a key; any other balancer would silently ignore one. */
function checkHashOn(at: readonly PathSegment[], cluster: Obj): Problem[] {
  const hashing = cluster.balancer === "ring_hash" || cluster.balancer === "maglev";
  if (hashing && cluster.hashOn === undefined) {
    return [
      problemAt(
        [...at, "balancer"],
        `${cluster.balancer} needs hashOn, the key to hash (e.g. hashOn: { header: x-user-id })`,
      ),
    ];
  }
  if (!hashing && cluster.hashOn !== undefined) {
    const which = typeof cluster.balancer === "string" ? cluster.balancer : "weighted_round_robin (the default)";
    return [problemAt([...at, "hashOn"], `is only used by balancer ring_hash or maglev, not ${which}`)];
  }
  return [];
}

function checkCodes(at: PathSegment[], section: unknown, key: string): Problem[] {
  const list = isObj(section) ? section[key] : undefined;
  if (!Array.isArray(list)) return [];
  return list.flatMap((name, i): Problem[] => {
    // Non-names (numbers, digits, punctuation) are the schema's to report.
    if (typeof name !== "string" || !/^[A-Za-z_]+$/.test(name)) return [];
    const code = parseCodeName(name);
    if (code === Code.OK) return [problemAt([...at, i], `${formatValue(name)} is success, not a failure to act on`)];
    if (code !== undefined) return [];
    const guess = closestMatch(name.toUpperCase(), CODE_NAMES);
    const hint = guess ? `did you mean ${guess}?` : "expected e.g. UNAVAILABLE, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED";
    return [problemAt([...at, i], `${formatValue(name)} is not a gRPC status code (${hint})`)];
  });
}

/**
 * `low` must not exceed `high`, checked only when both are written: with
 * one left to its default, the runtime's min()/max() already does what the
 * user evidently meant.
 */
function checkOrder(at: PathSegment[], section: unknown, low: string, high: string): Problem[] {
  if (!isObj(section)) return [];
  const a = msOrUndefined(section[low]);
  const b = msOrUndefined(section[high]);
  if (a === undefined || b === undefined || a <= b) return [];
  return [
    problemAt([...at, high], `${formatValue(section[high])} is shorter than ${low} (${formatValue(section[low])})`),
  ];
}

function msOrUndefined(value: unknown): number | undefined {
  if (typeof value !== "string" && typeof value !== "number") return undefined;
  try {
    return parseDuration(value);
  } catch {
    return undefined;
  }
}
