import { Code, CallError } from "../../call/status.js";

const UNIT_MS: Record<string, number | undefined> = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 0.001, n: 0.000001 };

/** grpc-timeout: 1–8 digits and a unit (gRPC over HTTP/2 spec). Returns ms. */
export function parseGrpcTimeout(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  // By hand, not a regular expression: most calls carry one (docs/DESIGN.md, "The hot path").
  const n = value.length - 1;
  const unit = n >= 1 && n <= 8 ? UNIT_MS[value[n]] : undefined;
  let digits = 0;
  for (let i = 0; unit !== undefined && i < n; i++) {
    const c = value.charCodeAt(i) - 48;
    if (c < 0 || c > 9) break;
    digits = digits * 10 + c;
    if (i === n - 1) return digits * unit;
  }
  throw new CallError(
    Code.INVALID_ARGUMENT,
    `invalid grpc-timeout "${value}": expected 1-8 digits and a unit (H, M, S, m, u, n), e.g. "250m"`,
  );
}

const MAX_DIGITS = 99_999_999;

/**
 * Encodes ms as grpc-timeout, choosing the finest unit that fits 8 digits.
 * Milliseconds round up (never shorter than asked); the coarse units round
 * down: rounding up could tell an upstream more than the 2^31 - 1 ms a Node
 * timer holds (the gateway's own ceiling, call/deadline.ts), and a Node
 * upstream's timer given more fires at once.
 */
export function encodeGrpcTimeout(ms: number): string {
  const t = Math.max(0, ms);
  if (t < 1) return `${Math.max(1, Math.round(t * 1000))}u`;
  if (Math.ceil(t) <= MAX_DIGITS) return `${Math.ceil(t)}m`;
  if (Math.floor(t / 1000) <= MAX_DIGITS) return `${Math.floor(t / 1000)}S`;
  return `${Math.min(MAX_DIGITS, Math.floor(t / 60_000))}M`;
}
