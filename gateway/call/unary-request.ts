import type { Readable } from "node:stream";
import { Code, CallError } from "./status.js";
import { type Envelope, EnvelopeSplitter } from "./envelope.js";
import { PrematureCloseError } from "./stream-chunks.js";
import type { Cancel } from "./cancel.js";

/**
 * A unary call's request envelope, read whole with plain listeners: the
 * streamed path's iterator layers cost a promise per chunk and per message
 * on every call (bench/RESULTS.md). Undefined for an empty body.
 *
 * Fails as the streamed path would (the size limit as soon as a prefix
 * shows it, a body ending inside an envelope, the stream's own error),
 * with CANCELLED once `cancel` fires, and, since holding any number of
 * messages would buffer without bound, with UNIMPLEMENTED for a second
 * message, as connect-go servers answer one (the Connect conformance suite's
 * "unary/multiple-requests" expects it, for gRPC and gRPC-Web too).
 *
 * Leaves the stream alone on failure: the caller drains it, so the error
 * response still reaches the client.
 */
export function readUnaryEnvelope(stream: Readable, maxBytes: number, cancel: Cancel): Promise<Envelope | undefined> {
  if (cancel.cancelled) return Promise.reject(new CallError(Code.CANCELLED, "call aborted"));
  return new Promise((resolve, reject) => {
    const split = new EnvelopeSplitter(maxBytes);
    let envelope: Envelope | undefined;
    // Assigned below, before anything can call done().
    let offCancel: () => void = () => {};
    let over = false;
    const done = (err: unknown, value?: Envelope) => {
      if (over) return;
      over = true;
      offCancel();
      // Taken off at once, success or not: left on, they would hold this
      // read (its splitter, its closures) for as long as the stream lives,
      // and a young-generation GC during the call would promote it all
      // (docs/DESIGN.md, "The hot path"). After a failure the stream is its
      // owner's again.
      stream.off("data", onData);
      stream.off("end", onEnd);
      stream.off("error", onError);
      stream.off("close", onClose);
      if (err === undefined) resolve(value);
      else reject(err);
    };
    const onData = (chunk: Buffer) => {
      if (over) return;
      let envs: readonly Envelope[];
      try {
        envs = split.push(chunk);
      } catch (err) {
        return done(err);
      }
      if (envs.length === 0) return;
      if (envelope !== undefined || envs.length > 1) {
        return done(
          new CallError(
            Code.UNIMPLEMENTED,
            "protocol error: the request of a unary method carried more than one message",
          ),
        );
      }
      envelope = envs[0];
    };
    const onEnd = () => {
      if (over) return;
      try {
        split.end();
      } catch (err) {
        return done(err);
      }
      done(undefined, envelope);
    };
    const onError = (err: Error) => done(err);
    // Every stream closes in the end: the error is made only if it matters.
    const onClose = () => over || done(new PrematureCloseError());
    stream.on("data", onData);
    stream.on("end", onEnd);
    stream.on("error", onError);
    stream.on("close", onClose);
    offCancel = cancel.on(() => done(new CallError(Code.CANCELLED, "call aborted")));
    if (stream.readableEnded) onEnd();
    else if (stream.destroyed) onClose();
    else stream.resume();
  });
}
