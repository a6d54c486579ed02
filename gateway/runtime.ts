import v8 from "node:v8";

/**
 * V8 settings for a gateway process. Process-wide, so the executables
 * (cli.ts, bench/gateway-main.ts) apply them first thing, not startGateway,
 * which tests and embedders call inside processes of their own.
 *
 * Allocation-site pretenuring off. During a burst of long-lived calls (the
 * bench's 10,000 open streams), the objects every call allocates outlive
 * several young-generation collections, and V8 starts allocating them
 * straight into the old generation, which only full collections reclaim;
 * it kept doing so after the burst, and small unary calls cost 20-50% more
 * CPU until a restart (bench/RESULTS.md, optimisation log). Without
 * pretenuring, the burst leaves no trace; steady-state cost did not change
 * measurably.
 */
export function tuneRuntime(): void {
  v8.setFlagsFromString("--no-allocation-site-pretenuring");
}
