import type { IncomingHttpHeaders, OutgoingHttpHeaders } from "node:http";
import { type ServerHttp2Stream, constants } from "node:http2";

/**
 * An HTTP/2 request read straight off its stream: the part of Node's compat
 * Http2ServerRequest the proxy uses. The compat layer builds a request and a
 * response object with streams of their own around every HTTP/2 stream and
 * copies each chunk through them; a minimal node:http2 proxy spent about 15%
 * more CPU per small call with it than on the bare stream (bench/RESULTS.md).
 * Only proxied calls take this path; everything else (Fastify's routes,
 * reflection) still gets Node's compat objects.
 */
export class StreamRequest {
  readonly method: string;
  readonly url: string;
  readonly httpVersionMajor = 2;
  readonly httpVersion = "2.0";

  constructor(
    readonly stream: ServerHttp2Stream,
    readonly headers: IncomingHttpHeaders,
  ) {
    this.method = (headers[":method"] as string | undefined) ?? "GET";
    this.url = (headers[":path"] as string | undefined) ?? "/";
  }

  get readableEnded(): boolean {
    return this.stream.readableEnded;
  }

  get destroyed(): boolean {
    return this.stream.destroyed;
  }

  on(event: string, fn: (...args: never[]) => void): this {
    this.stream.on(event, fn as (...args: unknown[]) => void);
    return this;
  }

  resume(): this {
    this.stream.resume();
    return this;
  }
}

/**
 * The response side over the same stream: the part of Node's compat
 * Http2ServerResponse the proxy uses, with its wire behaviour (a date
 * header; with `trailers`, trailers requested so addTrailers works after the
 * body).
 *
 * Only gRPC carries its status in HTTP trailers. Connect and gRPC-Web end
 * with the body, and their responses are sent without asking for trailers,
 * so END_STREAM rides on the last DATA frame: headers, body and END_STREAM
 * written in one tick leave in one write. Asking for trailers would send
 * END_STREAM later, as an empty DATA frame after a 'wantTrailers' round trip
 * through the event loop, and a client that stops its request body when the
 * response headers arrive (connect-go's unary calls do) could close its side
 * short of its content-length in between, which nghttp2 answers with
 * RST_STREAM(PROTOCOL_ERROR), taking the unsent end of the response with it.
 */
export class StreamResponse {
  private headersOut: OutgoingHttpHeaders | undefined;
  private trailersOut: OutgoingHttpHeaders | undefined;
  statusCode = 200;

  constructor(
    readonly stream: ServerHttp2Stream,
    private readonly trailers = true,
  ) {
    if (trailers) {
      // `on`: it comes once, and `once` costs a wrapper (docs/DESIGN.md, "The hot path").
      stream.on("wantTrailers", () => {
        if (!stream.destroyed) stream.sendTrailers(this.trailersOut ?? {});
      });
    }
  }

  /**
   * Once the response has gone out whole, resets the stream with NO_ERROR:
   * RFC 9113 section 8.1's way for a server that answered before the request
   * ended to ask the client to stop sending it, without error. Call it after
   * end().
   *
   * "Gone out" is nghttp2's own record that it sent our END_STREAM (the
   * stream's localClose), checked once per turn of the event loop, not
   * Node's 'finish': that fires before the frames are sent, and a reset
   * submitted then was seen to reach connect-go's gRPC client over TLS
   * ahead of a trailers-only answer (conformance "gRPC Unexpected
   * Requests/.../multiple-requests"), and before trailers, which leave only
   * after a round trip of their own. A client that has sent all of its
   * request already is not reset: there is nothing to stop.
   */
  resetWhenSent(): void {
    resetAfterEndStream(this.stream, 0);
  }

  get headersSent(): boolean {
    return this.stream.headersSent;
  }

  get destroyed(): boolean {
    return this.stream.destroyed;
  }

  get writableEnded(): boolean {
    return this.stream.writableEnded;
  }

  get writableCorked(): number {
    return this.stream.writableCorked;
  }

  cork(): void {
    this.stream.cork();
  }

  uncork(): void {
    this.stream.uncork();
  }

  setHeader(name: string, value: string | number | string[]): this {
    (this.headersOut ??= {})[name.toLowerCase()] = value;
    return this;
  }

  getHeaders(): OutgoingHttpHeaders {
    return { ...this.headersOut };
  }

  writeHead(status: number, headers?: OutgoingHttpHeaders): this {
    if (this.stream.headersSent || this.stream.destroyed) return this;
    this.statusCode = status;
    // Copied key by key, not spread (docs/DESIGN.md, "The hot path").
    const out: OutgoingHttpHeaders = { date: httpDate() };
    const set = this.headersOut;
    if (set) for (const k in set) out[k] = set[k];
    if (headers) for (const k in headers) out[k] = headers[k];
    // Last, so no header the caller passed can override it.
    out[":status"] = status;
    this.stream.respond(out, { waitForTrailers: this.trailers });
    return this;
  }

  /** Only for a response made with `trailers`; the others have none to send. */
  addTrailers(trailers: OutgoingHttpHeaders): void {
    if (!this.trailers) throw new Error("StreamResponse: addTrailers on a response made without trailers");
    Object.assign((this.trailersOut ??= {}), trailers);
  }

  write(chunk: Uint8Array | string): boolean {
    if (!this.stream.headersSent) this.writeHead(this.statusCode);
    return this.stream.write(chunk);
  }

  end(chunk?: Uint8Array | string): this {
    if (this.stream.destroyed || this.stream.writableEnded) return this;
    if (!this.stream.headersSent) this.writeHead(this.statusCode);
    if (chunk !== undefined) this.stream.end(chunk);
    else this.stream.end();
    return this;
  }

  on(event: string, fn: (...args: never[]) => void): this {
    this.stream.on(event, fn as (...args: unknown[]) => void);
    return this;
  }

  once(event: string, fn: (...args: never[]) => void): this {
    this.stream.once(event, fn as (...args: unknown[]) => void);
    return this;
  }

  off(event: string, fn: (...args: never[]) => void): this {
    this.stream.off(event, fn as (...args: unknown[]) => void);
    return this;
  }
}

/** How long resetWhenSent waits for the END_STREAM to leave (a client that does not read can hold it back). */
const RESET_WAIT_MS = 5000;

function resetAfterEndStream(stream: ServerHttp2Stream, waitedMs: number): void {
  if (stream.destroyed || stream.closed) return;
  const { localClose, remoteClose } = stream.state;
  if (remoteClose) return;
  if (localClose) {
    stream.close(constants.NGHTTP2_NO_ERROR);
    return;
  }
  // First within this turn's writes, then every few milliseconds.
  if (waitedMs === 0) setImmediate(resetAfterEndStream, stream, 1);
  else if (waitedMs < RESET_WAIT_MS) setTimeout(resetAfterEndStream, 5, stream, waitedMs + 5).unref();
}

// toUTCString() per response would cost more than the rest of the header;
// the date only changes once a second.
let dateText = "";
let dateSecond = -1;
function httpDate(): string {
  const now = Date.now();
  const s = Math.floor(now / 1000);
  if (s !== dateSecond) {
    dateSecond = s;
    dateText = new Date(now).toUTCString();
  }
  return dateText;
}
