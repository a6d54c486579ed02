/**
 * Calls in flight, so a graceful stop can wait for them. A count with
 * waiters rather than a set of per-call promises: the promise chain that
 * set needed (the call, its response's close, the bookkeeping) cost every
 * call a handful of promises (bench/RESULTS.md).
 */
export class InFlight {
  private count = 0;
  private waiters: Array<() => void> = [];

  get size(): number {
    return this.count;
  }

  /**
   * One call more; it counts until `parts` leave() calls came (a call is
   * over once its work is done and its response has closed, whichever is
   * last). Returns that leave().
   */
  enter(parts: number): () => void {
    this.count++;
    let left = parts;
    return () => {
      if (left > 0 && --left === 0) this.leave();
    };
  }

  /** Resolves once no call is in flight. */
  idle(): Promise<void> {
    if (this.count === 0) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private leave(): void {
    if (--this.count > 0) return;
    const w = this.waiters;
    this.waiters = [];
    for (const resolve of w) resolve();
  }
}
