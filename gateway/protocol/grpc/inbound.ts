import type { Http2ServerResponse } from "node:http2";
import type { ResponseSink } from "../../call/call.js";
import { splitPath } from "../../call/call.js";
import { Code, CallError, type Status } from "../../call/status.js";
import { type Envelope, EnvelopeSplitter, FLAG_COMPRESSED } from "../../call/envelope.js";
import { type Encoding, acceptsGzip, decompress, parseEncoding } from "../../call/compression.js";
import { readUnaryEnvelope } from "../../call/unary-request.js";
import type { Cancel } from "../../call/cancel.js";
import type { Readable } from "node:stream";
import { parseGrpcTimeout } from "./timeout.js";
import { type Metadata, firstValue, forwardableRequestMetadata } from "../../call/metadata.js";
import type { InboundCall, InboundOptions, InboundProtocol, ServerRequest, ServerResponseLike } from "../contract.js";
import { bodyStream, contentType, requestBody } from "../server-io.js";
import { EnvelopedSink } from "../enveloped-sink.js";
import { statusToGrpcHeaders } from "./status-headers.js";
import { type Codec, type Message } from "../../call/call.js";

/** application/grpc, application/grpc+proto, application/grpc+json */
export function grpcCodec(ct: string, base: string): Codec | undefined {
  // What nearly every client sends, without slicing strings on every call.
  if (ct.length === base.length) return ct === base ? "proto" : undefined;
  if (!ct.startsWith(base)) return undefined;
  const rest = ct.slice(base.length).split(";")[0].trim();
  if (rest === "" || rest === "+proto") return "proto";
  if (rest === "+json") return "json";
  return undefined;
}

/**
 * `body` makes the (decoded) body's chunks when the messages are first
 * read; `raw`, when the body can also be read whole, is its stream.
 */
export function parseGrpcRequest(
  req: ServerRequest,
  opts: InboundOptions,
  codec: Codec,
  body: () => AsyncIterable<Uint8Array>,
  raw: Readable | undefined,
): InboundCall {
  const url = req.url ?? "";
  const q = url.indexOf("?");
  // The path as it came (a flat string) rather than rebuilt from its parts:
  // the route and method lookups hash it, and a built one is hashed anew.
  const path = q < 0 ? url : url.slice(0, q);
  const parts = splitPath(path);
  if (!parts)
    throw new CallError(Code.UNIMPLEMENTED, `"${req.url}" is not a gRPC method path (/package.Service/Method)`);
  const timeoutMs = parseGrpcTimeout(firstValue(req.headers["grpc-timeout"]));
  const encoding = parseEncoding(firstValue(req.headers["grpc-encoding"]), "grpc-encoding");
  return {
    head: { path, ...parts, kind: undefined, codec, metadata: forwardableRequestMetadata(req.headers), timeoutMs },
    messages: new DecodedMessages(body, encoding, opts.maxBytes),
    readWhole: raw && ((cancel) => wholeMessage(raw, encoding, opts.maxBytes, cancel)),
  };
}

/** The request's messages, decoded when first read: a unary call read whole never makes the generator. */
class DecodedMessages implements AsyncIterable<Uint8Array> {
  constructor(
    private readonly body: () => AsyncIterable<Uint8Array>,
    private readonly encoding: Encoding,
    private readonly maxBytes: number,
  ) {}

  [Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    return decodeMessages(this.body, this.encoding, this.maxBytes);
  }
}

async function* decodeMessages(body: () => AsyncIterable<Uint8Array>, encoding: Encoding, maxBytes: number) {
  const split = new EnvelopeSplitter(maxBytes);
  for await (const chunk of body()) {
    for (const env of split.push(chunk))
      yield env.flags & FLAG_COMPRESSED ? await inflate(env, encoding, maxBytes) : env.data;
  }
  split.end();
}

async function wholeMessage(raw: Readable, encoding: Encoding, maxBytes: number, cancel: Cancel): Promise<Message[]> {
  const env = await readUnaryEnvelope(raw, maxBytes, cancel);
  if (!env) return [];
  if (env.flags & FLAG_COMPRESSED) return [{ data: await inflate(env, encoding, maxBytes) }];
  return [env.flags === 0 ? { data: env.data, frame: env.frame } : { data: env.data }];
}

function inflate(env: Envelope, encoding: Encoding, maxBytes: number): Promise<Uint8Array> {
  if (encoding === "identity")
    throw new CallError(Code.INTERNAL, "protocol error: compressed message without a grpc-encoding header");
  return decompress(env.data, encoding, maxBytes);
}

/** What the gateway accepts from gRPC(-Web) clients, advertised on every response as gRPC servers do. */
export const GRPC_ACCEPT_ENCODING = { "grpc-accept-encoding": "identity, gzip" };

/**
 * Writes a gRPC response: headers, length-prefixed messages, then the status
 * in HTTP/2 trailers (or in the headers alone when nothing else was sent).
 */
class GrpcSink extends EnvelopedSink {
  end(status: Status, trailers: Metadata): void {
    if (this.over) return;
    const r = this.res as Http2ServerResponse;
    const st = statusToGrpcHeaders(status);
    if (!this.sent) {
      // Trailers-only: one HEADERS frame with END_STREAM. The compat API's
      // writeHead()+end() adds an empty DATA frame instead, which grpc-js
      // and grpc-go read as "ended without a status" (INTERNAL).
      const headers = { ...(r.getHeaders() as Metadata), ...trailers, ...this.responseHeaders({}), ...st };
      if (r.headersSent) r.end();
      else if (r.stream && !r.stream.destroyed) r.stream.respond({ ":status": 200, ...headers }, { endStream: true });
      else {
        r.writeHead(200, headers);
        r.end();
      }
      return;
    }
    r.addTrailers({ ...trailers, ...st });
    r.end();
  }
}

export function grpcSink(req: ServerRequest, res: ServerResponseLike, codec: Codec): ResponseSink {
  return new GrpcSink(res, {
    contentType: `application/grpc+${codec}`,
    fixedHeaders: GRPC_ACCEPT_ENCODING,
    encodingHeader: "grpc-encoding",
    gzip: acceptsGzip(req.headers["grpc-accept-encoding"]),
    text: false,
  });
}

export const grpcInbound: InboundProtocol = {
  name: "grpc",
  httpTrailers: true,
  sink: (req, res) => grpcSink(req, res, grpcCodec(contentType(req), "application/grpc") ?? "proto"),
  parse(req, opts) {
    const codec = grpcCodec(contentType(req), "application/grpc");
    if (!codec) throw new CallError(Code.INTERNAL, `unsupported content-type "${contentType(req)}"`);
    if (req.httpVersionMajor !== 2) {
      throw new CallError(Code.INTERNAL, "gRPC requires HTTP/2; use gRPC-Web or Connect over HTTP/1.1");
    }
    return parseGrpcRequest(req, opts, codec, () => requestBody(req), bodyStream(req));
  },
};
