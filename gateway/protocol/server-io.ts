import type { ServerResponse } from "node:http";
import type { Readable } from "node:stream";
import { drained } from "../call/drain.js";
import { streamChunks } from "../call/stream-chunks.js";
import { StreamRequest } from "../listener/stream-exchange.js";
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

/** The stream a request's body arrives on. */
export function bodyStream(req: ServerRequest): Readable {
  return req instanceof StreamRequest ? req.stream : req;
}

export function contentType(req: ServerRequest): string {
  const ct = req.headers["content-type"];
  return (ct ?? "").toLowerCase();
}
