import { DONE } from "./iterables.js";
import type { Readable } from "node:stream";

/** What Node's own iterator throws when a stream closes before its end. */
export class PrematureCloseError extends Error {
  readonly code = "ERR_STREAM_PREMATURE_CLOSE";
  constructor() {
    super("Premature close");
  }
}

/**
 * A Readable's chunks as an async iterable, cheaper than the stream's own
 * iterator: that one builds an end-of-stream tracker, a generator and a
 * promise per chunk, which showed as about 5% of the gateway's CPU per small
 * call (bench/RESULTS.md). This reads in flowing mode and pauses the stream
 * while the consumer is behind, so backpressure holds.
 *
 * Stopping early (break, return) leaves the stream alone, unlike the
 * stream's own iterator, which destroys it: the owner decides (a request is
 * drained so the error response still reaches the client; an upstream
 * stream is reset by its transport).
 */
export function streamChunks(stream: Readable): AsyncIterableIterator<Buffer> {
  return new ChunkReader(stream);
}

class ChunkReader implements AsyncIterableIterator<Buffer> {
  private readonly queue: Buffer[] = [];
  private ended = false;
  private error: unknown;
  private waiter: { resolve: (r: IteratorResult<Buffer>) => void; reject: (e: unknown) => void } | undefined;

  constructor(private readonly stream: Readable) {
    stream.on("data", this.onData);
    stream.on("end", this.onEnd);
    stream.on("error", this.onError);
    stream.on("close", this.onClose);
    if (stream.readableEnded) this.onEnd();
    else if (stream.destroyed) this.onClose();
    // A stream paused before (readableFlowing false) would not start on 'data'.
    else stream.resume();
  }

  private readonly onData = (chunk: Buffer) => {
    const w = this.waiter;
    if (w) {
      this.waiter = undefined;
      w.resolve({ value: chunk, done: false });
      return;
    }
    this.queue.push(chunk);
    this.stream.pause();
  };

  private readonly onEnd = () => {
    this.ended = true;
    this.settle();
  };

  private readonly onError = (err: Error) => {
    this.error ??= err;
    this.settle();
  };

  private readonly onClose = () => {
    if (!this.ended) this.error ??= new PrematureCloseError();
    this.settle();
  };

  private settle(): void {
    const w = this.waiter;
    if (!w || this.queue.length > 0) return;
    this.waiter = undefined;
    if (this.error !== undefined) w.reject(this.error);
    else if (this.ended) w.resolve(DONE);
    if (this.ended || this.error !== undefined) this.detach();
  }

  next(): Promise<IteratorResult<Buffer>> {
    if (this.queue.length > 0) {
      const value = this.queue.shift()!;
      if (this.queue.length === 0 && !this.ended && this.error === undefined) this.stream.resume();
      return Promise.resolve({ value, done: false });
    }
    if (this.error !== undefined) {
      this.detach();
      return Promise.reject(this.error);
    }
    if (this.ended) {
      this.detach();
      return Promise.resolve(DONE);
    }
    return new Promise((resolve, reject) => (this.waiter = { resolve, reject }));
  }

  return(): Promise<IteratorResult<Buffer>> {
    this.detach();
    return Promise.resolve(DONE);
  }

  private detach(): void {
    this.stream.off("data", this.onData);
    this.stream.off("end", this.onEnd);
    this.stream.off("error", this.onError);
    this.stream.off("close", this.onClose);
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<Buffer> {
    return this;
  }
}
