/**
 * How long a provider waits before trying again after its `failures`-th
 * failure in a row: 0.5 s doubling to 30 s, with ±20% jitter so gateways that
 * lost the same registry do not come back in step.
 */
export function retryDelayMs(failures: number, random: () => number = Math.random): number {
  const base = Math.min(30_000, 500 * 2 ** Math.max(0, failures - 1));
  return Math.round(base * (0.8 + 0.4 * random()));
}
