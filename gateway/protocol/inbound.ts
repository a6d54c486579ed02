import type { IncomingMessage, ServerResponse } from "node:http";
import type { Http2ServerRequest, Http2ServerResponse } from "node:http2";
import { drained } from "../call/drain.js";
import type { Readable } from "node:stream";
import type { CallHead, Message, ResponseSink } from "../call/call.js";
import type { Cancel } from "../call/cancel.js";
import { streamChunks } from "../call/stream-chunks.js";
import { StreamRequest, type StreamResponse } from "../listener/stream-exchange.js";

export type ServerRequest = IncomingMessage | Http2ServerRequest | StreamRequest;
export type ServerResponseLike = ServerResponse | Http2ServerResponse | StreamResponse;

export interface InboundOptions {
  maxBytes: number;
}

/** What an inbound adapter makes of a request: the call, its messages, and where the answer goes. */
export interface InboundCall {
  head: CallHead;
  /** Uncompressed request messages in head.codec; throws a CallError on bad input. Nothing is read before the first next(). */
  messages: AsyncIterable<Uint8Array>;
  /**
   * Instead of `messages`, for a unary call: the request read whole (at
   * most one message). Only where the body can be taken as it came (not
   * gRPC-Web text, not Connect).
   */
  whole?: (cancel: Cancel) => Promise<Message[]>;
}

export interface InboundProtocol {
  readonly name: "grpc" | "grpc-web" | "connect";
  /** The sink exists before the request is parsed, so parse errors are answered in the protocol's form. */
  sink(req: ServerRequest, res: ServerResponseLike): ResponseSink;
  /** Throws a CallError when the request is malformed. */
  parse(req: ServerRequest, opts: InboundOptions): InboundCall;
}

/**
 * Writes a chunk; returns a promise, to wait on, only while the client is
 * not reading, so the common case allocates nothing. Writes made in one tick
 * are corked into one writev: the messages of one upstream DATA frame leave
 * in one downstream frame instead of one frame each.
 */
export function writeWithBackpressure(res: ServerResponseLike, chunk: Uint8Array): Promise<void> | undefined {
  if (res.destroyed || res.writableEnded) return undefined;
  const w = res as ServerResponse;
  // HTTP/2 only: a stream is a plain Writable, where end() while corked
  // flushes and a late uncork() is a no-op. node:http's response keeps its
  // own cork count and chunk buffer; on Node 24, corking it this way left
  // stray bytes after a response on keep-alive connections (clients failed
  // with "Expected HTTP/"; test/gateway/matrix.test.ts, HTTP/1.1 clients).
  if ((res as { stream?: unknown }).stream !== undefined && !w.writableCorked) {
    w.cork();
    process.nextTick(uncork, w);
  }
  if (w.write(chunk)) return undefined;
  return drained(res);
}

function uncork(w: ServerResponse): void {
  w.uncork();
}

/**
 * The request body, read without destroying the request when the reader
 * stops early (a size limit, a bad frame). A plain `for await` over `req`
 * destroys it, and with it an HTTP/1.1 socket, before the error response
 * is written: the client then sees a connection reset instead of the
 * status. handleRpc drains what is left once the call is over.
 */
export function requestBody(req: ServerRequest): AsyncIterable<Uint8Array> {
  return streamChunks(bodyStream(req));
}

/** The stream a request's body arrives on. */
export function bodyStream(req: ServerRequest): Readable {
  return req instanceof StreamRequest ? req.stream : req;
}

export function contentType(req: ServerRequest): string {
  const ct = req.headers["content-type"];
  return (ct ?? "").toLowerCase();
}
