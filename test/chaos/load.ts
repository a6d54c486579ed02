import { ConnectError } from "@connectrpc/connect";

export interface LoadResult {
  ok: number;
  failed: number;
  /** Failure messages by code name, for the report and for failing tests usefully. */
  errors: Map<string, number>;
  latencies: number[];
  p50: number;
  p99: number;
  seconds: number;
}

/**
 * A bounded closed-loop load: `total` calls, `concurrency` at a time; it
 * stops by itself. `onCall(i)` runs before call i, so a test can kill or
 * heal a replica at a known point in the run.
 */
export async function runLoad(opts: {
  total: number;
  concurrency: number;
  call: (i: number) => Promise<unknown>;
  onCall?: (i: number) => void | Promise<void>;
  /** Ends the run early (still bounded by total), e.g. once enough time has passed. */
  stopWhen?: (done: number, seconds: number) => boolean;
}): Promise<LoadResult> {
  const latencies: number[] = [];
  const errors = new Map<string, number>();
  let next = 0;
  let ok = 0;
  let failed = 0;
  const t0 = performance.now();
  const worker = async () => {
    for (;;) {
      if (opts.stopWhen?.(ok + failed, (performance.now() - t0) / 1000)) return;
      const i = next++;
      if (i >= opts.total) return;
      await opts.onCall?.(i);
      const s = performance.now();
      try {
        await opts.call(i);
        ok++;
      } catch (e) {
        failed++;
        const err = ConnectError.from(e);
        const key = `${err.code}: ${err.rawMessage.slice(0, 120)}`;
        errors.set(key, (errors.get(key) ?? 0) + 1);
      }
      latencies.push(performance.now() - s);
    }
  };
  await Promise.all(Array.from({ length: opts.concurrency }, worker));
  latencies.sort((a, b) => a - b);
  const q = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? 0;
  return { ok, failed, errors, latencies, p50: q(0.5), p99: q(0.99), seconds: (performance.now() - t0) / 1000 };
}

export function describeLoad(label: string, r: LoadResult, attempts?: number, calls?: number): string {
  const apc = attempts !== undefined && calls ? ` attempts/call=${(attempts / calls).toFixed(3)}` : "";
  const errs = r.failed ? ` errors=${JSON.stringify([...r.errors])}` : "";
  return `[chaos] ${label}: ok=${r.ok} failed=${r.failed} p50=${r.p50.toFixed(1)}ms p99=${r.p99.toFixed(1)}ms${apc} in ${r.seconds.toFixed(1)}s${errs}`;
}
