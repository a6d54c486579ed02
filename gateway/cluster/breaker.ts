import { EventEmitter } from "node:events";
import CircuitBreaker from "opossum";
import { Code } from "../call/status.js";
import type { CircuitBreakerConfig } from "../config/types.js";
import { UpstreamError } from "../transport/contract.js";

// opossum's rolling window is split into this many buckets; one bucket ages
// out every rollingWindowMs / BUCKETS.
const BUCKETS = 10;

// Codes that say the endpoint (or the way to it) is in trouble. Everything
// else is an answer from a working upstream, however unwelcome.
const TRANSPORT_FAILURES: ReadonlySet<number> = new Set([
  Code.UNAVAILABLE,
  Code.DEADLINE_EXCEEDED,
  Code.INTERNAL,
  Code.UNKNOWN,
  Code.RESOURCE_EXHAUSTED,
]);

export function isTransportFailure(code: number): boolean {
  return TRANSPORT_FAILURES.has(code);
}

type Verdict = "failure" | "success" | "ignore";

/** How an error thrown by the wrapped call counts against the endpoint. */
function classify(err: unknown): Verdict {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === "number") {
    if (code === Code.CANCELLED) return "ignore";
    return isTransportFailure(code) ? "failure" : "success";
  }
  // An aborted signal surfacing as a DOMException: the client went away.
  if ((err as { name?: unknown } | null)?.name === "AbortError") return "ignore";
  // Socket errors (string codes such as ECONNREFUSED) and anything else the
  // gateway would report as INTERNAL.
  return "failure";
}

/**
 * Carries a resolved value that `failed()` rejected through opossum's
 * failure path (opossum only counts rejections); runChecked() unwraps it again.
 */
class FailedValue {
  constructor(readonly value: unknown) {}
}

type Action = () => Promise<unknown>;

const same = <T>(v: T): T => v;

/**
 * One endpoint's circuit breaker: opossum, fed only transport-level outcomes
 * and wrapped around a call up to its response headers (not the whole
 * stream, whose length says nothing about the endpoint's health).
 */
export class EndpointBreaker {
  private readonly breaker: CircuitBreaker<[Action], unknown> | undefined;
  /** Drives opossum's bucket rotation so close() can flush the window. */
  private readonly rotation = new EventEmitter();
  private readonly rotateTimer: NodeJS.Timeout | undefined;
  private openedAt = 0;
  private openReason = "";
  private probing = false;

  constructor(
    private readonly cfg: CircuitBreakerConfig,
    private readonly label: string,
  ) {
    if (!cfg.enabled) return;
    const breaker: CircuitBreaker<[Action], unknown> = new CircuitBreaker<[Action], unknown>((action) => action(), {
      name: label,
      // opossum opens when the error rate is strictly greater than this; the
      // config means "at least", so nudge it below by a hair.
      errorThresholdPercentage: cfg.errorThresholdPercentage - 1e-9,
      volumeThreshold: cfg.volumeThreshold,
      rollingCountTimeout: cfg.rollingWindowMs,
      rollingCountBuckets: BUCKETS,
      resetTimeout: cfg.resetTimeoutMs,
      // Deadlines belong to the call; a breaker timer would only race them.
      timeout: false,
      allowWarmUp: false,
      rollingPercentilesEnabled: false,
      enableSnapshots: false,
      rotateBucketController: this.rotation,
      // true means "not a failure" (opossum then counts it as a success).
      errorFilter: (err): boolean => {
        if (err instanceof FailedValue) return false;
        const verdict = classify(err);
        if (verdict !== "ignore") return verdict === "success";
        // opossum has no "don't count": a filtered error is a success, and a
        // success in half-open closes the breaker. A cancelled probe proves
        // nothing, so in half-open it re-opens instead (one more
        // resetTimeout) rather than letting traffic back on no evidence.
        return !breaker.halfOpen;
      },
    });
    this.breaker = breaker;
    this.rotateTimer = setInterval(
      () => this.rotation.emit("rotate"),
      Math.max(1, Math.floor(cfg.rollingWindowMs / BUCKETS)),
    );
    this.rotateTimer.unref();

    breaker.on("halfOpen", () => (this.probing = true));
    breaker.on("open", () => {
      const s = breaker.stats;
      const counted = s.failures + s.successes;
      this.openReason = this.probing
        ? "the half-open probe failed"
        : `${s.failures} of the last ${counted} calls failed at the transport level`;
      this.probing = false;
      this.openedAt = performance.now();
    });
    breaker.on("close", () => {
      this.probing = false;
      // opossum keeps its counts across open → close, so the failures that
      // opened the breaker (and the rejections counted as fires while open)
      // would skew the rate right after recovery; start the window afresh.
      for (let i = 0; i < BUCKETS; i++) this.rotation.emit("rotate");
    });
  }

  /**
   * Runs `fn` (which resolves when the upstream's response headers or first
   * event arrive) through the breaker. `fn` applies `check` to its value in
   * a step it takes anyway (one promise step fewer per call, docs/DESIGN.md,
   * "The hot path"): `check` throws what `failed` says is a transport-level
   * failure that must count (e.g. a trailers-only UNAVAILABLE), and such
   * values still resolve. When the breaker is open, rejects at once with
   * UNAVAILABLE and neverLeft = true; `onError` maps every rejection,
   * the breaker's own included, to a value, or rethrows.
   */
  runChecked<T>(
    fn: (check: (v: T) => T) => Promise<T>,
    failed: (v: T) => boolean,
    onError: (err: unknown) => T,
  ): Promise<T> {
    const breaker = this.breaker;
    if (!breaker) return fn(same).then(undefined, onError);
    // Promise chains, not async functions: every call passes here, and each
    // async layer costs extra ticks.
    const check = (v: T): T => {
      if (failed(v)) throw new FailedValue(v);
      return v;
    };
    return (breaker.fire(() => fn(check)) as Promise<T>).then(undefined, (err: unknown) => {
      if (err instanceof FailedValue) return err.value as T;
      return onError(err instanceof Error && CircuitBreaker.isOurError(err) ? this.rejection(breaker) : err);
    });
  }

  private rejection(breaker: CircuitBreaker<[Action], unknown>): UpstreamError {
    if (breaker.isShutdown) return new UpstreamError(Code.UNAVAILABLE, `${this.label} is shut down`, true);
    if (breaker.halfOpen) {
      return new UpstreamError(
        Code.UNAVAILABLE,
        `${this.label}: circuit breaker is half-open and its probe call is still in flight`,
        true,
      );
    }
    const wait = Math.max(0, Math.ceil(this.openedAt + this.cfg.resetTimeoutMs - performance.now()));
    return new UpstreamError(
      Code.UNAVAILABLE,
      `${this.label}: circuit breaker is open (${this.openReason}); next probe in ${wait} ms`,
      true,
    );
  }

  get state(): "closed" | "open" | "half-open" {
    const b = this.breaker;
    if (!b) return "closed";
    // A shut-down breaker refuses everything, which is what "open" tells callers.
    if (b.isShutdown || b.opened) return "open";
    return b.halfOpen ? "half-open" : "closed";
  }

  /**
   * For the balancer: false while open; in half-open true only until the one
   * probe call has started. A pure query: the probe slot is taken by runChecked().
   */
  allowsRequest(): boolean {
    const b = this.breaker;
    if (!b) return true;
    if (b.isShutdown) return false;
    if (b.closed) return true;
    return b.halfOpen && b.pendingClose;
  }

  on(event: "open" | "close" | "halfOpen", fn: () => void): void {
    this.breaker?.on(event, () => fn());
  }

  shutdown(): void {
    if (this.rotateTimer) clearInterval(this.rotateTimer);
    this.breaker?.shutdown();
  }
}
