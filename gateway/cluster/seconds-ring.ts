/**
 * The clock of a ring of one-second slots, for counts that an operator reads
 * as "per second, lately" (endpoint-stats.ts, policy/attempt-rates.ts).
 * Recording is an index computation and, once a second, clearing the slots
 * that aged out; no timers and no allocation.
 */
export class SecondsRing {
  /** Absolute second (time / 1000) of the newest slot. */
  private newest: number;
  private readonly born: number;

  constructor(
    /** How many seconds the ring covers, the current partial one included. */
    readonly slots: number,
    /** Zeroes slot `i` when its second has aged out. */
    private readonly clear: (i: number) => void,
    /** The clock every caller reads (performance.now()); slot() takes its time from the caller. */
    private readonly now: () => number = () => performance.now(),
  ) {
    this.born = now();
    this.newest = Math.floor(this.born / 1000);
  }

  /** The slot of `now` (the clock's time), after clearing the slots that aged out since the last call. */
  slot(now: number): number {
    const second = Math.floor(now / 1000);
    // A clock that steps back (or a fake one in tests) keeps the current slot.
    const steps = Math.min(Math.max(second - this.newest, 0), this.slots);
    for (let k = 1; k <= steps; k++) this.clear(this.index(this.newest + k));
    if (second > this.newest) this.newest = second;
    return this.index(this.newest);
  }

  /**
   * How many seconds the slots hold counts for: the full ones plus the part
   * of the current one gone by, and never more than the ring has been alive,
   * so a young ring does not report a rate diluted by seconds it never saw.
   */
  coveredSeconds(): number {
    const now = this.now();
    const ring = this.slots - 1 + (now - Math.floor(now / 1000) * 1000) / 1000;
    return Math.max(Math.min(ring, (now - this.born) / 1000), 0.001);
  }

  private index(second: number): number {
    return ((second % this.slots) + this.slots) % this.slots;
  }
}
