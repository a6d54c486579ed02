/**
 * The one deadline of a call, made when the call is planned. It covers every
 * attempt (retries and hedges included) and owns the early shave, the timer,
 * and the time left for the upstream; parsing and encoding the wire headers
 * (grpc-timeout, connect-timeout-ms) belong to each protocol's folder.
 */
export class Deadline {
  /**
   * What a Node timer can hold (2^31 - 1 ms, about 24.8 days). A timeout
   * beyond it is clamped: a timer given more fires at once, and a deadline
   * that far away is no deadline in practice.
   */
  static readonly MAX_MS = 2 ** 31 - 1;

  /** Milliseconds the call was given, after clamping. */
  readonly timeoutMs: number;
  /** performance.now() at which the gateway gives up: a little before the client would. */
  private readonly at: number;
  private timer: NodeJS.Timeout | undefined;
  /** The timer fired: the deadline has passed, even where the clock reads a hair short of `at`. */
  private fired = false;

  private constructor(timeoutMs: number, now: number) {
    this.timeoutMs = Math.min(Math.max(0, timeoutMs), Deadline.MAX_MS);
    this.at = now + this.timeoutMs - shave(this.timeoutMs);
  }

  /** A deadline `timeoutMs` from `now`; none when the call has no timeout. */
  static after(timeoutMs: number | undefined, now = performance.now()): Deadline | undefined {
    return timeoutMs === undefined ? undefined : new Deadline(timeoutMs, now);
  }

  /** Time left until the gateway gives up, never below 0; what the upstream is told. */
  remaining(now = performance.now()): number {
    return Math.max(0, this.at - now);
  }

  expired(now = performance.now()): boolean {
    return this.fired || now >= this.at;
  }

  /** Calls `onExpire` once, when the time is up; disarm() stops it. */
  arm(onExpire: () => void): void {
    this.timer = setTimeout(() => {
      this.fired = true;
      onExpire();
    }, this.remaining());
  }

  disarm(): void {
    clearTimeout(this.timer);
  }

  /** The message a client sees with DEADLINE_EXCEEDED. */
  describe(): string {
    return `deadline of ${Math.round(this.timeoutMs)} ms exceeded (gateway)`;
  }
}

/**
 * The gateway gives up slightly before the client does, so its
 * DEADLINE_EXCEEDED reaches the client instead of racing the client's own
 * timer: the client's timer started before the request left it, and a busy
 * event loop fires ours late. 10% (at most 50 ms) wins that race in practice.
 */
function shave(timeoutMs: number): number {
  return Math.min(50, timeoutMs * 0.1);
}
