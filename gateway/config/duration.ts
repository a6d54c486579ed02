// Node timers silently fire immediately for delays above 2^31-1 ms, so a
// longer duration would turn "wait a long time" into "don't wait at all".
export const MAX_DURATION_MS = 2_147_483_647;

const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };
const WHOLE = /^(?:[0-9]+(?:\.[0-9]+)?(?:ms|s|m|h))+$/;
const PART = /([0-9]+(?:\.[0-9]+)?)(ms|s|m|h)/g;
const EXPECTED = 'expected e.g. "250ms", "5s", "1m", "1.5s", or a number of milliseconds';

/**
 * Milliseconds for a config duration: "250ms", "5s", "1m", "1.5s", "1m30s",
 * or a plain number meaning milliseconds. Throws an Error whose message
 * starts with the offending value, so callers can prefix a config path.
 */
export function parseDuration(input: string | number): number {
  if (typeof input === "number") return checkRange(input, String(input));
  if (typeof input !== "string") {
    throw new Error(`${describe(input)} is not a duration (${EXPECTED})`);
  }
  const shown = JSON.stringify(input);
  if (/^-/.test(input.trim())) throw new Error(`${shown} must not be negative`);
  if (/^[0-9]+(\.[0-9]+)?$/.test(input)) {
    // A quoted "250" is ambiguous to a reader; make the unit explicit.
    throw new Error(`${shown} has no unit (write "${input}ms", or an unquoted number for milliseconds)`);
  }
  if (!WHOLE.test(input)) throw new Error(`${shown} is not a duration (${EXPECTED})`);
  let total = 0;
  for (const [, amount, unit] of input.matchAll(PART)) total += Number(amount) * UNIT_MS[unit!]!;
  // Round away binary-float noise ("1.1s" would otherwise be 1100.0000000000002).
  return checkRange(Math.round(total * 1000) / 1000, shown);
}

function checkRange(ms: number, shown: string): number {
  if (!Number.isFinite(ms)) throw new Error(`${shown} is not a duration (${EXPECTED})`);
  if (ms < 0) throw new Error(`${shown} must not be negative`);
  if (ms > MAX_DURATION_MS) {
    throw new Error(`${shown} is longer than the maximum of ${MAX_DURATION_MS}ms (about 24.8 days)`);
  }
  return ms;
}

function describe(value: unknown): string {
  return value === undefined ? "undefined" : (JSON.stringify(value) ?? String(value));
}
