import { Code, ConnectError } from "@connectrpc/connect";

// Waiting inside a handler must end the moment the call does: a replica that
// kept sleeping after the client left would hold timers open and make the
// gateway's attempt timings lie.

/** Resolves after ms, or rejects with the call's abort reason if it ends first. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (signal.aborted) return reject(abortReason(signal));
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortReason(signal));
    };
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

/** Never resolves; rejects once the call is cancelled or its deadline passes. */
export function untilAborted(signal: AbortSignal): Promise<never> {
  return new Promise<never>((_, reject) => {
    if (signal.aborted) return reject(abortReason(signal));
    signal.addEventListener("abort", () => reject(abortReason(signal)), { once: true });
  });
}

// Connect aborts handler signals with a ConnectError (deadline_exceeded or
// canceled); anything else still has to leave the handler as a ConnectError.
function abortReason(signal: AbortSignal): ConnectError {
  return ConnectError.from(signal.reason, Code.Canceled);
}

/** Throws the abort reason as a ConnectError if the call has already ended. */
export function throwIfAborted(signal: AbortSignal): void {
  if (signal.aborted) throw abortReason(signal);
}
