/**
 * A one-shot cancellation flag with listeners: what the call path needs from
 * AbortController, without its cost. Node's AbortSignal is an EventTarget;
 * creating one, adding and removing listeners and aborting it took about 8% of
 * the gateway's CPU per small call (bench/RESULTS.md), and every call makes
 * several (the call, each attempt).
 */
export class Cancel {
  private done = false;
  private listeners: Array<() => void> | undefined;

  get cancelled(): boolean {
    return this.done;
  }

  /** Runs `fn` once on cancel (at once if already cancelled). Returns the unsubscribe. */
  on(fn: () => void): () => void {
    if (this.done) {
      fn();
      return noop;
    }
    (this.listeners ??= []).push(fn);
    return () => this.off(fn);
  }

  off(fn: () => void): void {
    const l = this.listeners;
    if (!l) return;
    const i = l.indexOf(fn);
    if (i >= 0) l.splice(i, 1);
  }

  /** Idempotent; listeners run once, in the order they were added. */
  cancel(): void {
    if (this.done) return;
    this.done = true;
    const l = this.listeners;
    this.listeners = undefined;
    if (l) for (const fn of l) fn();
  }

  /** A child that is cancelled with this one, and may also be cancelled alone. */
  child(): Cancel {
    const c = new Cancel();
    if (this.done) {
      c.done = true;
      return c;
    }
    const off = this.on(() => c.cancel());
    c.on(off);
    return c;
  }
}

function noop(): void {}
