import type { RetryBudgetConfig } from "../config/types.js";

// Linkerd's retry budget (Finagle's RetryBudget before it): over a sliding
// window, retries and hedges may add at most `percent` of the original
// requests, plus a floor of minRetriesPerSecond × window so a quiet cluster
// can still retry at all. Without a budget, retries turn an overloaded
// upstream into a more overloaded one (retry storms); with it, extra load is
// bounded no matter how many calls fail.

/** Length of the sliding window (Linkerd's and Finagle's default TTL). */
export const RETRY_BUDGET_WINDOW_MS = 10_000;
// The window slides in slots; ten slots means a count expires 9-10 s after
// it was made, which is precise enough for a budget.
const SLOTS = 10;
const SLOT_MS = RETRY_BUDGET_WINDOW_MS / SLOTS;

export class RetryBudget {
  private readonly requests = new Float64Array(SLOTS);
  private readonly retries = new Float64Array(SLOTS);
  private totalRequests = 0;
  private totalRetries = 0;
  /** Absolute index (time / SLOT_MS) of the newest slot. */
  private newest: number;
  private readonly reserve: number;

  constructor(
    private readonly cfg: RetryBudgetConfig,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.newest = Math.floor(now() / SLOT_MS);
    this.reserve = (cfg.minRetriesPerSecond * RETRY_BUDGET_WINDOW_MS) / 1000;
  }

  /** Counts one original request (not a retry or hedge): it earns `percent`/100 of a retry. */
  recordRequest(): void {
    const i = this.advance();
    this.requests[i]! += 1;
    this.totalRequests += 1;
  }

  /** Spends one retry or hedge from the budget; false when it is used up. */
  tryAcquire(): boolean {
    const i = this.advance();
    if (this.available() < 1) return false;
    this.retries[i]! += 1;
    this.totalRetries += 1;
    return true;
  }

  /** Retries or hedges that could be started right now (may be fractional). */
  available(): number {
    this.advance();
    return this.reserve + (this.totalRequests * this.cfg.percent) / 100 - this.totalRetries;
  }

  /** Drops slots that fell out of the window; returns the current slot's index. */
  private advance(): number {
    const slot = Math.floor(this.now() / SLOT_MS);
    // A clock that steps back (or a fake one in tests) keeps the current slot.
    const steps = Math.min(Math.max(slot - this.newest, 0), SLOTS);
    for (let k = 1; k <= steps; k++) {
      const i = mod(this.newest + k);
      this.totalRequests -= this.requests[i]!;
      this.totalRetries -= this.retries[i]!;
      this.requests[i] = 0;
      this.retries[i] = 0;
    }
    if (slot > this.newest) this.newest = slot;
    return mod(this.newest);
  }
}

const mod = (n: number) => ((n % SLOTS) + SLOTS) % SLOTS;
