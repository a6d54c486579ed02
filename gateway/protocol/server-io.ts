import type { IncomingMessage, ServerResponse } from "node:http";
import { type Readable, finished } from "node:stream";
import { drained } from "../call/drain.js";
import { streamChunks } from "../call/stream-chunks.js";
import { StreamRequest, StreamResponse } from "../listener/stream-exchange.js";
import type { ServerRequest, ServerResponseLike } from "./contract.js";

// Reading requests and writing responses on the server side, for every
// inbound adapter.

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

// A call can end before its request did: a size limit, a bad frame, a
// deadline, an upstream that answered early. The answer is written whole,
// then the rest of the request is dropped the way each HTTP version allows
// (RFC 9113 section 8.1; RFC 9112 section 9.6) rather than read to its end,
// which for a hostile client could be any size.

/**
 * Call just before a response's end is written. An HTTP/1.1 request whose
 * body has not all arrived will not be read on, so the response, if its
 * headers have not gone out yet, says `Connection: close`.
 */
export function closeIfRequestUnfinished(req: ServerRequest, res: ServerResponseLike): void {
  if (req.httpVersionMajor < 2 && !(req as IncomingMessage).complete && !res.headersSent)
    res.setHeader("connection", "close");
}

/** How long an HTTP/1.1 connection stays half-closed after an early answer (Go's server waits 500 ms). */
export const LINGER_MS = 1000;

/**
 * Call once a call is over and its response ended: lets go of what the call
 * did not read of its request.
 *
 * - HTTP/2: the stream is reset with NO_ERROR once the response has gone
 *   out whole (StreamResponse.resetWhenSent), so the client stops sending,
 *   as grpc-go's server does.
 * - HTTP/1.1, body still arriving: after the response (which said
 *   `Connection: close` when it could), the connection is half-closed and
 *   no longer read, then destroyed after LINGER_MS. Node would destroy it
 *   as soon as its FIN is out, and a client still sending would then be
 *   reset (RST) while the response may still sit unread in its buffers;
 *   the linger, as in Go's closeWriteAndWait, gives it time to read the
 *   answer, and bounds what is read of a body nobody wants to a socket
 *   buffer.
 * - Otherwise (the body all arrived, only not read): the rest is discarded
 *   and the connection stays usable.
 */
export function dropUnreadRequest(req: ServerRequest, res: ServerResponseLike): void {
  if (req.readableEnded || req.destroyed) return;
  if (req instanceof StreamRequest) {
    if (res instanceof StreamResponse) res.resetWhenSent();
    req.resume();
    return;
  }
  if (req.httpVersionMajor < 2 && !(req as IncomingMessage).complete) {
    lingerClose(req as IncomingMessage, res as ServerResponse);
    return;
  }
  req.resume();
}

function lingerClose(req: IncomingMessage, res: ServerResponse): void {
  const socket = req.socket;
  let lingering = false;
  const linger = () => {
    if (lingering || socket.destroyed) return;
    lingering = true;
    socket.end();
    // Paused, the request stops reading its socket once its buffer is full.
    req.pause();
    setTimeout(() => socket.destroy(), LINGER_MS).unref();
  };
  // Node ends a `Connection: close` response with this socket's
  // destroySoon(), which destroys it as soon as its FIN is out.
  socket.destroySoon = linger;
  // A response that went out keep-alive (its headers left before the call
  // ended) gets no destroySoon() from Node.
  finished(res, linger);
}

/** The stream a request's body arrives on. */
export function bodyStream(req: ServerRequest): Readable {
  return req instanceof StreamRequest ? req.stream : req;
}

export function contentType(req: ServerRequest): string {
  const ct = req.headers["content-type"];
  return (ct ?? "").toLowerCase();
}
