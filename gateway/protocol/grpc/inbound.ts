import type { Http2ServerResponse } from "node:http2";
import type { ResponseSink } from "../../call/call.js";
import { splitPath } from "../../call/call.js";
import { Code, CallError, type Status } from "../../call/status.js";
import { type Envelope, EnvelopeSplitter, FLAG_COMPRESSED, encodeEnvelope } from "../../call/envelope.js";
import { COMPRESS_MIN_BYTES, type Encoding, acceptsGzip, compress, decompress, parseEncoding } from "../../call/compression.js";
import { readUnaryEnvelope } from "../../call/unary-request.js";
import type { Cancel } from "../../call/cancel.js";
import type { Readable } from "node:stream";
import { parseGrpcTimeout } from "../../call/deadline.js";
import { type Metadata, copyMetadata, firstValue, forwardableRequestMetadata } from "../../call/metadata.js";
import {
  type InboundCall,
  type InboundOptions,
  type InboundProtocol,
  type ServerRequest,
  type ServerResponseLike,
  bodyStream,
  contentType,
  requestBody,
  writeWithBackpressure,
} from "../inbound.js";
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
export function parseGrpcRequest(req: ServerRequest, opts: InboundOptions, codec: Codec, body: () => AsyncIterable<Uint8Array>, raw: Readable | undefined): InboundCall {
  const url = req.url ?? "";
  const q = url.indexOf("?");
  // The path as it came (a flat string) rather than rebuilt from its parts:
  // the route and method lookups hash it, and a built one is hashed anew.
  const path = q < 0 ? url : url.slice(0, q);
  const parts = splitPath(path);
  if (!parts) throw new CallError(Code.UNIMPLEMENTED, `"${req.url}" is not a gRPC method path (/package.Service/Method)`);
  const timeoutMs = parseGrpcTimeout(firstValue(req.headers["grpc-timeout"]));
  const encoding = parseEncoding(firstValue(req.headers["grpc-encoding"]), "grpc-encoding");
  return {
    head: { path, ...parts, kind: undefined, codec, metadata: forwardableRequestMetadata(req.headers), timeoutMs },
    messages: decodeMessages(body, encoding, opts.maxBytes),
    whole: raw && ((cancel) => wholeMessage(raw, encoding, opts.maxBytes, cancel)),
  };
}

async function* decodeMessages(body: () => AsyncIterable<Uint8Array>, encoding: Encoding, maxBytes: number) {
  const split = new EnvelopeSplitter(maxBytes);
  for await (const chunk of body()) {
    for (const env of split.push(chunk)) yield env.flags & FLAG_COMPRESSED ? await inflate(env, encoding, maxBytes) : env.data;
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
  if (encoding === "identity") throw new CallError(Code.INTERNAL, "protocol error: compressed message without a grpc-encoding header");
  return decompress(env.data, encoding, maxBytes);
}

/**
 * Writes a gRPC response: headers, length-prefixed messages, then the status
 * in HTTP/2 trailers (or in the headers alone when nothing else was sent).
 */
export function grpcSink(req: ServerRequest, res: ServerResponseLike, codec: Codec): ResponseSink {
  const gzip = acceptsGzip(req.headers["grpc-accept-encoding"]);
  const ct = `application/grpc+${codec}`;
  const r = res as Http2ServerResponse;
  let sent = false;
  const sendHeaders = (md: Metadata) => {
    sent = true;
    const h = copyMetadata(md);
    h["content-type"] = ct;
    if (gzip) h["grpc-encoding"] = "gzip";
    if (!r.headersSent && !r.destroyed) r.writeHead(200, h);
  };
  return {
    headers: sendHeaders,
    message(data, frame) {
      if (!sent) sendHeaders({});
      const z = gzip && data.byteLength >= COMPRESS_MIN_BYTES;
      if (!z && frame) return writeWithBackpressure(res, frame);
      return writeWithBackpressure(res, encodeEnvelope(z ? FLAG_COMPRESSED : 0, z ? compress(data, "gzip") : data));
    },
    end(status: Status, trailers: Metadata) {
      if (r.destroyed || r.writableEnded) return;
      const st = statusToGrpcHeaders(status);
      if (!sent) {
        // Trailers-only: one HEADERS frame with END_STREAM. The compat API's
        // writeHead()+end() adds an empty DATA frame instead, which grpc-js
        // and grpc-go read as "ended without a status" (INTERNAL).
        const headers = { ...(r.getHeaders() as Metadata), ...trailers, "content-type": ct, ...st };
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
    },
  };
}

export const grpcInbound: InboundProtocol = {
  name: "grpc",
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
