import type { IncomingHttpHeaders } from "node:http";
import type { Message, ResponseEvent } from "../../call/call.js";
import { Code, httpStatusToCode } from "../../call/status.js";
import { type Envelope, EnvelopeSplitter, FLAG_COMPRESSED, FLAG_GRPC_WEB_TRAILER, encodeEnvelope } from "../../call/envelope.js";
import { type Encoding, decompress, parseEncoding } from "../../call/compression.js";
import { encodeGrpcTimeout } from "../../call/deadline.js";
import { copyMetadata, firstValue, forwardableResponseMetadata } from "../../call/metadata.js";
import type { OutboundCall, UnaryOutboundCall } from "../outbound.js";
import { drain, mapIterable } from "../../call/iterables.js";
import { statusFromGrpcHeaders } from "./status-headers.js";

/**
 * gRPC and gRPC-Web upstreams differ only in content type and where the
 * trailers travel, so one adapter speaks both.
 */
export async function* grpcOutbound(call: OutboundCall, web: boolean): AsyncGenerator<ResponseEvent> {
  const { head, transport, label } = call;
  const base = web ? "application/grpc-web" : "application/grpc";
  const res = await transport.request({
    method: "POST",
    path: head.path,
    headers: requestHeaders(call, base, web),
    body: mapIterable(call.messages, (m) => encodeEnvelope(0, m)),
    cancel: call.cancel,
  });
  const early = earlyEnd(res.status, res.headers, base, label);
  if (early) {
    await drain(res.body);
    yield early;
    return;
  }
  yield { type: "headers", metadata: forwardableResponseMetadata(res.headers) };
  const frames = new ResponseFrames(res.headers, web, call.maxBytes);
  for await (const chunk of res.body) {
    for (const env of frames.split(chunk)) {
      if (env.flags === 0) yield messageEvent(env);
      else {
        const ev = await frames.flagged(env);
        if (ev) yield ev;
      }
    }
  }
  frames.end();
  yield endEvent(web ? frames.trailers : res.trailers(), label);
}

/**
 * A unary call: the request sent whole, the answer read whole. Events as
 * grpcOutbound yields them, without an async step per chunk and event.
 */
export async function grpcUnaryOutbound(call: UnaryOutboundCall, web: boolean): Promise<ResponseEvent[]> {
  const { head, transport, label } = call;
  const base = web ? "application/grpc-web" : "application/grpc";
  const res = await transport.exchange(
    { method: "POST", path: head.path, headers: requestHeaders(call, base, web), body: unaryBody(call.request), cancel: call.cancel },
    call.maxBytes + UNARY_BODY_ROOM,
  );
  const early = earlyEnd(res.status, res.headers, base, label);
  if (early) return [early];
  const events: ResponseEvent[] = [{ type: "headers", metadata: forwardableResponseMetadata(res.headers) }];
  const frames = new ResponseFrames(res.headers, web, call.maxBytes);
  for (const chunk of res.chunks) {
    for (const env of frames.split(chunk)) {
      if (env.flags === 0) events.push(messageEvent(env));
      else {
        const ev = await frames.flagged(env);
        if (ev) events.push(ev);
      }
    }
  }
  frames.end();
  events.push(endEvent(web ? frames.trailers : res.trailers, label));
  return events;
}

/** Beyond one message of the size limit, room for its prefix and gRPC-Web's trailers frame. */
const UNARY_BODY_ROOM = 64 * 1024;

function requestHeaders(call: Omit<OutboundCall, "messages">, base: string, web: boolean): Record<string, string | string[]> {
  // No grpc-accept-encoding, so upstreams answer uncompressed: on the hop
  // from gateway to upstream, gunzipping every answer cost 20-30% of the
  // gateway's CPU per small call (bench/RESULTS.md). Compressed answers are
  // still decoded.
  const headers = copyMetadata(call.head.metadata);
  headers["content-type"] = `${base}+${call.head.codec}`;
  if (web) headers["x-grpc-web"] = "1";
  else headers["te"] = "trailers";
  if (call.timeoutMs !== undefined) headers["grpc-timeout"] = encodeGrpcTimeout(call.timeoutMs);
  return headers;
}

/** The request messages as one body: the client's own envelope when there is one to reuse. */
function unaryBody(messages: readonly Message[]): Uint8Array {
  if (messages.length === 1 && messages[0].frame) return messages[0].frame;
  return Buffer.concat(messages.map((m) => encodeEnvelope(0, m.data)));
}

/** The call's end when the response carries no messages: not 200, not gRPC, or trailers-only. */
function earlyEnd(httpStatus: number, headers: IncomingHttpHeaders, base: string, label: string): ResponseEvent | undefined {
  if (httpStatus !== 200) return endFromHttp(httpStatus, headers, label);
  const ct = firstValue(headers["content-type"]) ?? "";
  if (!ct.startsWith(base)) {
    return { type: "end", status: { code: Code.UNKNOWN, message: `${label} answered with content-type "${ct}", not ${base}`, details: [] }, trailers: {} };
  }
  // Trailers-only: the status came with the headers.
  if (headers["grpc-status"] !== undefined) return { type: "end", status: statusFromGrpcHeaders(headers, label), trailers: forwardableResponseMetadata(headers) };
  return undefined;
}

/**
 * A gRPC(-Web) response body's envelopes, for both the streaming and the
 * unary path: plain ones are messageEvent()s as they are; flagged() reads
 * the others (inflated, or gRPC-Web's trailers, which it keeps).
 */
class ResponseFrames {
  trailers: IncomingHttpHeaders | undefined;
  private readonly splitter: EnvelopeSplitter;
  private readonly encoding: Encoding;

  constructor(
    headers: IncomingHttpHeaders,
    private readonly web: boolean,
    private readonly maxBytes: number,
  ) {
    this.encoding = parseEncoding(firstValue(headers["grpc-encoding"]), "grpc-encoding");
    this.splitter = new EnvelopeSplitter(maxBytes);
  }

  /** The envelopes `chunk` completes. */
  split(chunk: Buffer): readonly Envelope[] {
    return this.splitter.push(chunk);
  }

  end(): void {
    this.splitter.end();
  }

  /** A compressed message, inflated; or the trailers (compressed too at times, 0x81, e.g. by connect-go), kept: then undefined. */
  async flagged(env: Envelope): Promise<ResponseEvent | undefined> {
    const data = env.flags & FLAG_COMPRESSED ? await decompress(env.data, this.encoding, this.maxBytes) : env.data;
    if (this.web && env.flags & FLAG_GRPC_WEB_TRAILER) {
      this.trailers = parseWebTrailers(data);
      return undefined;
    }
    return { type: "message", data };
  }
}

/** An uncompressed message, with its envelope as received for a sink that frames it the same way. */
function messageEvent(env: Envelope): ResponseEvent {
  return { type: "message", data: env.data, frame: env.frame };
}

function endEvent(trailers: IncomingHttpHeaders | undefined, label: string): ResponseEvent {
  if (!trailers) return { type: "end", status: { code: Code.INTERNAL, message: `${label} ended the stream without trailers`, details: [] }, trailers: {} };
  return { type: "end", status: statusFromGrpcHeaders(trailers, label), trailers: forwardableResponseMetadata(trailers) };
}

/** gRPC-Web trailers: "key: value\r\n" lines in a 0x80 frame. */
export function parseWebTrailers(data: Uint8Array): IncomingHttpHeaders {
  const out: Record<string, string | string[]> = {};
  for (const line of Buffer.from(data).toString("utf8").split("\r\n")) {
    const i = line.indexOf(":");
    if (i <= 0) continue;
    const k = line.slice(0, i).trim().toLowerCase();
    const v = line.slice(i + 1).trim();
    const prev = out[k];
    out[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
  }
  return out as IncomingHttpHeaders;
}

function endFromHttp(httpStatus: number, headers: IncomingHttpHeaders, label: string): ResponseEvent {
  if (headers["grpc-status"] !== undefined) return { type: "end", status: statusFromGrpcHeaders(headers, label), trailers: {} };
  const code = httpStatusToCode(httpStatus);
  return { type: "end", status: { code, message: `${label} answered HTTP ${httpStatus}`, details: [], httpStatus }, trailers: {} };
}
