import { Code, ConnectError } from "@connectrpc/connect";
import { sleep, untilAborted } from "./abort.js";

/**
 * Misbehaviour a replica injects into every call. The object is read on each
 * call rather than copied, so tests and operators can flip a fault on a
 * running replica and see the effect on the very next request.
 */
export interface Faults {
  latencyMs: number;
  /** Extra delay added to a random tailRate fraction of calls: a long tail, the case hedging is for. */
  tailLatencyMs: number;
  /** Probability (0..1) that a call gets tailLatencyMs on top of latencyMs. */
  tailRate: number;
  /** Probability (0..1) that a call fails with errorCode. */
  errorRate: number;
  errorCode: Code;
  /** Never answer; only the client giving up ends the call. */
  hang: boolean;
}

export function createFaults(overrides: Partial<Faults> = {}): Faults {
  return {
    latencyMs: 0,
    tailLatencyMs: 0,
    tailRate: 0,
    errorRate: 0,
    errorCode: Code.Unavailable,
    hang: false,
    ...overrides,
  };
}

/**
 * Applies the current faults before a handler does any real work, in the
 * order a sick upstream shows them: unresponsive, then slow, then failing.
 */
export async function applyFaults(faults: Faults, replica: string, signal: AbortSignal): Promise<void> {
  if (faults.hang) {
    await untilAborted(signal);
  }
  const tail = faults.tailRate > 0 && Math.random() < faults.tailRate ? faults.tailLatencyMs : 0;
  if (faults.latencyMs + tail > 0) {
    await sleep(faults.latencyMs + tail, signal);
  }
  if (faults.errorRate > 0 && Math.random() < faults.errorRate) {
    throw new ConnectError(`injected fault on replica ${replica}`, faults.errorCode);
  }
}
