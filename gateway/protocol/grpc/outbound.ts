import type { IncomingHttpHeaders } from "node:http";
import type { Message, ResponseEvent } from "../../call/call.js";
import { Code, httpStatusToCode } from "../../call/status.js";
import {
  type Envelope,
  EnvelopeSplitter,
  FLAG_COMPRESSED,
  FLAG_GRPC_WEB_TRAILER,
  encodeEnvelope,
} from "../../call/envelope.js";
import {
  type Encoding,
  compressForUpstream,
  decompress,
  parseEncoding,
  upstreamEnvelope,
} from "../../call/compression.js";
import { encodeGrpcTimeout } from "./timeout.js";
import { copyMetadata, firstValue, forwardableResponseMetadata } from "../../call/metadata.js";
import { type OutboundCall, type OutboundProtocol, isWhole } from "../contract.js";
import { ListIterator, drain, mapIterable } from "../../call/iterables.js";
import { statusFromGrpcHeaders } from "./status-headers.js";

/**
 * How one member of the gRPC family is spoken upstream: gRPC and gRPC-Web
 * share the framing and differ only in content type, a request header, and
 * where the trailers travel (grpc-web/outbound.ts defines the other).
 */
export interface GrpcFlavor {
  contentType: "application/grpc" | "application/grpc-web";
  /** Added to every request. */
  requestHeaders: Record<string, string>;
  /** gRPC-Web: trailers come as a body frame flagged 0x80, read by this. */
  bodyTrailers?: (data: Uint8Array) => IncomingHttpHeaders;
}

/** An outbound adapter for one flavor of the gRPC family. */
export function grpcFamilyOutbound(flavor: GrpcFlavor): OutboundProtocol {
  return (call) => {
    const m = call.messages;
    return isWhole(m) ? new ListIterator(exchangeWhole(call, m, flavor)) : streamed(call, m, flavor);
  };
}

export const grpcOutbound: OutboundProtocol = grpcFamilyOutbound({
  contentType: "application/grpc",
  requestHeaders: { te: "trailers" },
});

async function* streamed(
  call: OutboundCall,
  messages: AsyncIterable<Uint8Array>,
  flavor: GrpcFlavor,
): AsyncGenerator<ResponseEvent> {
  const { head, transport, label } = call;
  const res = await transport.request({
    method: "POST",
    path: head.path,
    headers: requestHeaders(call, flavor),
    body: mapIterable(messages, call.compression === "identity" ? plainEnvelope : gzipEnvelope),
    cancel: call.cancel,
  });
  const refused = notGrpc(res.status, res.headers, flavor.contentType, label);
  if (refused) {
    await drain(res.body);
    yield refused;
    return;
  }
  if (res.headers["grpc-status"] !== undefined) {
    yield trailersOnly(res.headers, label, await anyBytes(res.body));
    return;
  }
  yield { type: "headers", metadata: forwardableResponseMetadata(res.headers) };
  const frames = new ResponseFrames(res.headers, flavor, call.maxBytes);
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
  yield endEvent(flavor.bodyTrailers ? frames.trailers : res.trailers(), label);
}

/**
 * The unary lane: the request sent whole, the answer read whole in one
 * exchange, then handed on as the same events, without an async step per
 * chunk and event.
 */
async function exchangeWhole(
  call: OutboundCall,
  request: readonly Message[],
  flavor: GrpcFlavor,
): Promise<ResponseEvent[]> {
  const { head, transport, label } = call;
  const res = await transport.exchange(
    {
      method: "POST",
      path: head.path,
      headers: requestHeaders(call, flavor),
      body: unaryBody(request, call.compression),
      cancel: call.cancel,
    },
    call.maxBytes + UNARY_BODY_ROOM,
  );
  const refused = notGrpc(res.status, res.headers, flavor.contentType, label);
  if (refused) return [refused];
  if (res.headers["grpc-status"] !== undefined)
    return [
      trailersOnly(
        res.headers,
        label,
        res.chunks.some((c) => c.byteLength > 0),
      ),
    ];
  const events: ResponseEvent[] = [{ type: "headers", metadata: forwardableResponseMetadata(res.headers) }];
  const frames = new ResponseFrames(res.headers, flavor, call.maxBytes);
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
  events.push(endEvent(flavor.bodyTrailers ? frames.trailers : res.trailers, label));
  return events;
}

/** Beyond one message of the size limit, room for its prefix and gRPC-Web's trailers frame. */
const UNARY_BODY_ROOM = 64 * 1024;

function requestHeaders(call: OutboundCall, flavor: GrpcFlavor): Record<string, string | string[]> {
  // With the default `compression: identity`, no grpc-accept-encoding, so
  // upstreams answer uncompressed: on the hop from gateway to upstream,
  // gunzipping every answer cost 20-30% of the gateway's CPU per small call
  // (bench/RESULTS.md). Compressed answers are decoded either way.
  const headers = copyMetadata(call.head.metadata);
  headers["content-type"] = `${flavor.contentType}+${call.head.codec}`;
  for (const k in flavor.requestHeaders) headers[k] = flavor.requestHeaders[k];
  if (call.compression === "gzip") {
    headers["grpc-encoding"] = "gzip";
    headers["grpc-accept-encoding"] = "gzip";
  }
  if (call.deadline) headers["grpc-timeout"] = encodeGrpcTimeout(call.deadline.remaining());
  return headers;
}

const plainEnvelope = (m: Uint8Array) => encodeEnvelope(0, m);
const gzipEnvelope = (m: Uint8Array) => upstreamEnvelope(m, "gzip");

/**
 * The request messages as one body: the client's own envelope when there is
 * one to reuse and it stays uncompressed; a message worth compressing for a
 * gzip cluster is enveloped anew, flagged compressed.
 */
function unaryBody(messages: readonly Message[], compression: Encoding): Uint8Array {
  if (messages.length === 1) return envelopeOf(messages[0], compression);
  return Buffer.concat(messages.map((m) => envelopeOf(m, compression)));
}

function envelopeOf(m: Message, compression: Encoding): Uint8Array {
  const z = compressForUpstream(m.data, compression);
  if (z) return encodeEnvelope(FLAG_COMPRESSED, z);
  return m.frame ?? encodeEnvelope(0, m.data);
}

/** The call's end when the response is not a gRPC one at all: not 200, or another content type. */
function notGrpc(
  httpStatus: number,
  headers: IncomingHttpHeaders,
  base: string,
  label: string,
): ResponseEvent | undefined {
  if (httpStatus !== 200) return endFromHttp(httpStatus, headers, label);
  const ct = firstValue(headers["content-type"]) ?? "";
  if (!ct.startsWith(base)) {
    return {
      type: "end",
      status: { code: Code.UNKNOWN, message: `${label} answered with content-type "${ct}", not ${base}`, details: [] },
      trailers: {},
    };
  }
  return undefined;
}

/**
 * The status came with the headers: a Trailers-Only response, which by the
 * gRPC spec is all there is (HEADERS with END_STREAM). A body after it is a
 * protocol error, not a success without an answer: INTERNAL, which counts
 * against the endpoint.
 */
function trailersOnly(headers: IncomingHttpHeaders, label: string, bodyFollowed: boolean): ResponseEvent {
  if (bodyFollowed) {
    const message = `${label} sent grpc-status ${firstValue(headers["grpc-status"])} in its response headers and then a body: a Trailers-Only response has none (protocol error)`;
    return { type: "end", status: { code: Code.INTERNAL, message, details: [] }, trailers: {} };
  }
  return { type: "end", status: statusFromGrpcHeaders(headers, label), trailers: forwardableResponseMetadata(headers) };
}

/** Whether a body has any bytes; it stops reading (and resets the stream) at the first. */
async function anyBytes(body: AsyncIterable<Buffer>): Promise<boolean> {
  try {
    for await (const chunk of body) if (chunk.byteLength > 0) return true;
  } catch {
    // the body was going away anyway
  }
  return false;
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
    private readonly flavor: GrpcFlavor,
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
    const bodyTrailers = this.flavor.bodyTrailers;
    if (bodyTrailers && env.flags & FLAG_GRPC_WEB_TRAILER) {
      this.trailers = bodyTrailers(data);
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
  if (!trailers)
    return {
      type: "end",
      status: { code: Code.INTERNAL, message: `${label} ended the stream without trailers`, details: [] },
      trailers: {},
    };
  return {
    type: "end",
    status: statusFromGrpcHeaders(trailers, label),
    trailers: forwardableResponseMetadata(trailers),
  };
}

function endFromHttp(httpStatus: number, headers: IncomingHttpHeaders, label: string): ResponseEvent {
  if (headers["grpc-status"] !== undefined)
    return { type: "end", status: statusFromGrpcHeaders(headers, label), trailers: {} };
  const code = httpStatusToCode(httpStatus);
  return {
    type: "end",
    status: { code, message: `${label} answered HTTP ${httpStatus}`, details: [], httpStatus },
    trailers: {},
  };
}
