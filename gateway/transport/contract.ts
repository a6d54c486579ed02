import type { IncomingHttpHeaders, OutgoingHttpHeaders } from "node:http";
import type { Socket } from "node:net";
import { Code, CallError } from "../call/status.js";
import type { Cancel } from "../call/cancel.js";

/** One HTTP exchange with an endpoint, whatever the HTTP version. */
export interface UpstreamHttpRequest {
  method: "POST" | "GET";
  path: string;
  headers: OutgoingHttpHeaders;
  body: AsyncIterable<Uint8Array> | Uint8Array;
  cancel: Cancel;
}

export interface UpstreamHttpResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: AsyncIterable<Buffer>;
  /** Complete once `body` is exhausted. */
  trailers(): IncomingHttpHeaders;
}

/** A whole response: what a unary call's exchange returns once the upstream has finished. */
export interface WholeHttpResponse {
  status: number;
  headers: IncomingHttpHeaders;
  /** The body as received, chunk by chunk. */
  chunks: Buffer[];
  trailers: IncomingHttpHeaders;
}

export interface HttpTransport {
  request(req: UpstreamHttpRequest): Promise<UpstreamHttpResponse>;
  /**
   * One request with a body known in full, answered in full: for unary
   * calls, which then cost no async iteration per chunk. Fails with
   * RESOURCE_EXHAUSTED past `maxBodyBytes` of response body, and at once
   * when `req.cancel` fires, whatever the connection does (a wedged one
   * never closes the stream): the attempt waits on nothing else.
   */
  exchange(req: UpstreamHttpRequest & { body: Uint8Array }, maxBodyBytes: number): Promise<WholeHttpResponse>;
  close(): Promise<void>;
}

export function bodyTooLarge(label: string, maxBodyBytes: number): UpstreamError {
  return new UpstreamError(
    Code.RESOURCE_EXHAUSTED,
    `${label} answered with a body of over ${maxBodyBytes} bytes, more than a unary response may have (limits.maxMessageBytes)`,
    false,
  );
}

/**
 * A failure on the way to an endpoint. `neverLeft` marks requests that
 * provably never reached the upstream (connect refused, REFUSED_STREAM,
 * GOAWAY before the stream started): those are safe to retry anywhere.
 */
export class UpstreamError extends CallError {
  readonly neverLeft: boolean;
  constructor(code: Code, message: string, neverLeft: boolean) {
    super(code, message);
    this.neverLeft = neverLeft;
  }
}

/** Maps an HTTP/2 RST_STREAM code as gRPC's spec does. */
export function rstCodeToCode(rst: number): Code {
  switch (rst) {
    case 0x7: // REFUSED_STREAM
      return Code.UNAVAILABLE;
    case 0x8: // CANCEL
      return Code.CANCELLED;
    case 0xb: // ENHANCE_YOUR_CALM
      return Code.RESOURCE_EXHAUSTED;
    case 0xc: // INADEQUATE_SECURITY
      return Code.PERMISSION_DENIED;
    default:
      return Code.INTERNAL;
  }
}

const CONNECT_ERRORS = new Set([
  "ECONNREFUSED",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
]);

/** Calls `report` if `socket` fails before its TCP connection is up (a TLS handshake that fails later does not count). */
export function watchConnect<S extends Socket>(socket: S, report: ((err: Error) => void) | undefined): S {
  if (!report || !socket.connecting) return socket;
  const onError = (err: Error) => report(err);
  socket.once("error", onError);
  socket.once("connect", () => socket.off("error", onError));
  return socket;
}

export function isConnectError(err: unknown): boolean {
  return CONNECT_ERRORS.has((err as { code?: string })?.code ?? "");
}
