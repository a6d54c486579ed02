import type { Readable } from "node:stream";
import { Code, CallError } from "./status.js";
import { type Envelope, EnvelopeSplitter } from "./envelope.js";
import { PrematureCloseError } from "./stream-chunks.js";
import type { Cancel } from "./cancel.js";
import { bodyTooLarge } from "./body.js";

/** What readWhole() feeds a stream's chunks to; either may throw what the read fails with. */
interface WholeReader<T> {
  push(chunk: Buffer): void;
  end(): T;
}

/**
 * A unary call's request, read whole with plain listeners: the streamed
 * path's iterator layers cost a promise per chunk and per message on every
 * call (bench/RESULTS.md). Fails with what the reader throws, the stream's
 * own error, a premature close, or CANCELLED once `cancel` fires.
 *
 * Leaves the stream alone on failure: the caller drains it, so the error
 * response still reaches the client.
 */
function readWhole<T>(stream: Readable, cancel: Cancel, reader: WholeReader<T>): Promise<T> {
  if (cancel.cancelled) return Promise.reject(new CallError(Code.CANCELLED, "call aborted"));
  return new Promise((resolve, reject) => {
    // Assigned below, before anything can call done().
    let offCancel: () => void = () => {};
    let over = false;
    const done = (err: unknown, value?: T) => {
      if (over) return;
      over = true;
      offCancel();
      // Taken off at once, success or not: left on, they would hold this
      // read (its reader, its closures) for as long as the stream lives,
      // and a young-generation GC during the call would promote it all
      // (docs/DESIGN.md, "The hot path"). After a failure the stream is its
      // owner's again.
      stream.off("data", onData);
      stream.off("end", onEnd);
      stream.off("error", onError);
      stream.off("close", onClose);
      if (err === undefined) resolve(value as T);
      else reject(err);
    };
    const onData = (chunk: Buffer) => {
      if (over) return;
      try {
        reader.push(chunk);
      } catch (err) {
        done(err);
      }
    };
    const onEnd = () => {
      if (over) return;
      let value: T;
      try {
        value = reader.end();
      } catch (err) {
        return done(err);
      }
      done(undefined, value);
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

/**
 * A unary gRPC(-Web) request's one envelope (readWhole); undefined for an
 * empty body. Fails as the streamed path would: the size limit as soon as
 * a prefix shows it, a body ending inside an envelope; and, since holding
 * any number of messages would buffer without bound, with UNIMPLEMENTED for
 * a second message, as connect-go servers answer one (the Connect
 * conformance suite's "unary/multiple-requests" expects it, for gRPC and
 * gRPC-Web too).
 */
export function readUnaryEnvelope(stream: Readable, maxBytes: number, cancel: Cancel): Promise<Envelope | undefined> {
  return readWhole(stream, cancel, new OneEnvelope(maxBytes));
}

class OneEnvelope implements WholeReader<Envelope | undefined> {
  private readonly split: EnvelopeSplitter;
  private envelope: Envelope | undefined;

  constructor(maxBytes: number) {
    this.split = new EnvelopeSplitter(maxBytes);
  }

  push(chunk: Buffer): void {
    const envs = this.split.push(chunk);
    if (envs.length === 0) return;
    if (this.envelope !== undefined || envs.length > 1)
      throw new CallError(
        Code.UNIMPLEMENTED,
        "protocol error: the request of a unary method carried more than one message",
      );
    this.envelope = envs[0];
  }

  end(): Envelope | undefined {
    this.split.end();
    return this.envelope;
  }
}

/** A unary Connect request's body, whole (readWhole), refused past `maxBytes` as soon as it gets there. */
export function readUnaryBody(stream: Readable, maxBytes: number, cancel: Cancel): Promise<Uint8Array> {
  return readWhole(stream, cancel, new WholeBody(maxBytes));
}

class WholeBody implements WholeReader<Uint8Array> {
  private readonly parts: Buffer[] = [];
  private size = 0;

  constructor(private readonly maxBytes: number) {}

  push(chunk: Buffer): void {
    this.size += chunk.byteLength;
    if (this.size > this.maxBytes) throw bodyTooLarge(this.maxBytes);
    this.parts.push(chunk);
  }

  end(): Uint8Array {
    const p = this.parts;
    return p.length === 1 ? p[0]! : Buffer.concat(p, this.size);
  }
}
