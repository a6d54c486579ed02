import { Code, CallError } from "../../call/status.js";

/** connect-timeout-ms: 1–10 digits (Connect protocol spec). */
export function parseConnectTimeout(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d{1,10}$/.test(value)) {
    throw new CallError(Code.INVALID_ARGUMENT, `invalid connect-timeout-ms "${value}": expected 1-10 digits`);
  }
  return Number(value);
}

/** Whole milliseconds, at least 1: 0 would mean "already expired". */
export function encodeConnectTimeout(ms: number): string {
  return String(Math.max(1, Math.ceil(ms)));
}
