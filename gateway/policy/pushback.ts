import { MAX_DURATION_MS } from "../config/duration.js";

export interface Pushback {
  /** false: the server asked for no further attempts. */
  retry: boolean;
  /** Set when the server named the delay; use it instead of the backoff. */
  delayMs?: number;
}

/**
 * Reads `grpc-retry-pushback-ms` (gRPC A6). Absent: retry with the normal
 * backoff. A non-negative integer: retry after exactly that many ms.
 * Anything else (negative, fractional, not a number, empty): the server is
 * telling us not to retry, so don't.
 */
export function parsePushback(value: string | undefined): Pushback {
  if (value === undefined) return { retry: true };
  const text = value.trim();
  if (!/^[0-9]+$/.test(text)) return { retry: false };
  // A huge value means "not any time soon"; clamp it so a timer does not
  // overflow and fire at once. The caller's deadline check then gives up.
  return { retry: true, delayMs: Math.min(Number(text), MAX_DURATION_MS) };
}
