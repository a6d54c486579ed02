import { DONE } from "../call/iterables.js";

/**
 * Request messages shared by every attempt of one call. Each attempt reads
 * from the start; messages already read from the client are replayed from
 * memory, new ones are pulled once and handed to every reader. Past
 * `maxBytes` the buffer stops keeping messages and the call can no longer
 * start a fresh attempt (gRPC A6: the call becomes un-retryable).
 */
export class ReplayBuffer {
  private readonly items: Uint8Array[] = [];
  private bytes = 0;
  private dropped = 0;
  private ended = false;
  private error: unknown;
  private pulling: Promise<void> | undefined;
  private readonly source: AsyncIterator<Uint8Array>;

  constructor(
    source: AsyncIterable<Uint8Array>,
    private readonly maxBytes: number,
  ) {
    this.source = source[Symbol.asyncIterator]();
  }

  /** Whether a new attempt could still see every message from the first. */
  get replayable(): boolean {
    return this.dropped === 0;
  }

  private pull(): Promise<void> {
    this.pulling ??= (async () => {
      try {
        const r = await this.source.next();
        if (r.done) this.ended = true;
        else {
          this.items.push(r.value);
          this.bytes += r.value.byteLength;
          if (this.bytes > this.maxBytes) this.dropOld();
        }
      } catch (err) {
        this.error = err ?? new Error("request stream failed");
        this.ended = true;
      } finally {
        this.pulling = undefined;
      }
    })();
    return this.pulling;
  }

  /** Frees everything before the newest message; readers behind it can no longer catch up. */
  private dropOld(): void {
    const keep = this.items.length - 1;
    for (let i = this.dropped; i < keep; i++) this.items[i] = EMPTY;
    this.dropped = keep;
    this.bytes = this.items[keep]?.byteLength ?? 0;
  }

  /** A fresh reader from the first message. */
  reader(): AsyncIterableIterator<Uint8Array> {
    return new ReplayReader(this);
  }

  /** For ReplayReader: message i, or the end, pulling from the source when no reader has yet. */
  async at(i: number): Promise<IteratorResult<Uint8Array>> {
    for (;;) {
      if (i < this.items.length) {
        if (i < this.dropped)
          throw new Error("request messages were not kept for replay (over retryPolicy.maxReplayBytes)");
        return { value: this.items[i], done: false };
      }
      if (this.ended) {
        if (this.error !== undefined) throw this.error;
        return DONE;
      }
      await this.pull();
    }
  }
}

/** One attempt's view of the messages (a class: cheaper per message than an async generator). */
class ReplayReader implements AsyncIterableIterator<Uint8Array> {
  private i = 0;
  private closed = false;

  constructor(private readonly buffer: ReplayBuffer) {}

  async next(): Promise<IteratorResult<Uint8Array>> {
    if (this.closed) return DONE;
    const r = await this.buffer.at(this.i);
    if (!r.done) this.i++;
    return r;
  }

  async return(): Promise<IteratorResult<Uint8Array>> {
    this.closed = true;
    return DONE;
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<Uint8Array> {
    return this;
  }
}

const EMPTY = new Uint8Array(0);
