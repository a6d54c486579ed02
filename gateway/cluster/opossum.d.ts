// @types/opossum is not installed; this declares only the part of opossum 9
// that gateway/cluster/breaker.ts uses. opossum is CommonJS
// (`module.exports = CircuitBreaker`), hence `export =`.
declare module "opossum" {
  import { EventEmitter } from "node:events";

  namespace CircuitBreaker {
    interface Options<TArgs extends unknown[]> {
      /** false disables opossum's own per-call timer. */
      timeout?: number | false;
      resetTimeout?: number;
      errorThresholdPercentage?: number;
      volumeThreshold?: number;
      rollingCountTimeout?: number;
      rollingCountBuckets?: number;
      rollingPercentilesEnabled?: boolean;
      enableSnapshots?: boolean;
      allowWarmUp?: boolean;
      capacity?: number;
      name?: string;
      /** true = the error does not count as a failure (opossum then emits "success"). */
      errorFilter?: (err: unknown, ...args: TArgs) => boolean;
      /** Rotates the rolling window on its "rotate" event instead of opossum's own timer. */
      rotateBucketController?: EventEmitter;
    }

    interface Stats {
      failures: number;
      successes: number;
      rejects: number;
      fires: number;
      timeouts: number;
      semaphoreRejections: number;
    }
  }

  class CircuitBreaker<TArgs extends unknown[] = unknown[], TResult = unknown> extends EventEmitter {
    constructor(action: (...args: TArgs) => Promise<TResult>, options?: CircuitBreaker.Options<TArgs>);
    static isOurError(err: unknown): boolean;
    fire(...args: TArgs): Promise<TResult>;
    open(): void;
    close(): void;
    shutdown(): void;
    readonly closed: boolean;
    readonly opened: boolean;
    readonly halfOpen: boolean;
    /** true in half-open until the one probe call has been let through. */
    readonly pendingClose: boolean;
    readonly isShutdown: boolean;
    readonly stats: CircuitBreaker.Stats;
  }

  export = CircuitBreaker;
}
