import type { ClientHttp2Stream } from "node:http2";
import { DONE } from "../call/iterables.js";
import { drained } from "../call/drain.js";
import type { UpstreamError } from "./contract.js";

// The two directions of one HTTP/2 exchange's body, for H2Transport: the
// request written with backpressure, the response read with the
// transport's failures mapped to call statuses.

/**
 * An upstream response's chunks with the transport's failures mapped to
 * call statuses (a class: docs/DESIGN.md, "The hot path").
 */
export class ResponseBody implements AsyncIterableIterator<Buffer> {
  private done = false;

  constructor(
    private readonly chunks: AsyncIterator<Buffer>,
    private readonly on: {
      failed: (err: unknown) => UpstreamError;
      /** A consumer that stops early (client gone, deadline) cancels upstream. */
      stoppedEarly: () => void;
      endProblem: () => UpstreamError | undefined;
    },
  ) {}

  async next(): Promise<IteratorResult<Buffer>> {
    if (this.done) return DONE;
    let r: IteratorResult<Buffer>;
    try {
      r = await this.chunks.next();
    } catch (err) {
      this.done = true;
      this.on.stoppedEarly();
      throw this.on.failed(err);
    }
    if (!r.done) return r;
    this.done = true;
    const problem = this.on.endProblem();
    if (problem) throw problem;
    return r;
  }

  async return(): Promise<IteratorResult<Buffer>> {
    if (!this.done) {
      this.done = true;
      this.on.stoppedEarly();
      await this.chunks.return?.();
    }
    return DONE;
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<Buffer> {
    return this;
  }
}

/** Writes the request body, waiting for the upstream to drain. */
export async function pump(body: AsyncIterable<Uint8Array> | Uint8Array, stream: ClientHttp2Stream): Promise<void> {
  stream.on("error", () => {});
  if (body instanceof Uint8Array) {
    stream.end(body);
    return;
  }
  for await (const chunk of body) {
    if (stream.destroyed) return;
    if (!stream.write(chunk)) {
      await drained(stream);
    }
  }
  if (!stream.destroyed) stream.end();
}
