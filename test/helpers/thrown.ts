import { CallError } from "../../gateway/call/status.js";

/** The CallError `fn` throws; anything else (or nothing) fails the spec. */
export function thrownCallError(fn: () => unknown): CallError {
  try {
    fn();
  } catch (err) {
    if (err instanceof CallError) return err;
    throw err;
  }
  throw new Error("expected a CallError");
}
