import type { ResponseSink } from "../../call/call.js";
import { Code, CallError, type Status } from "../../call/status.js";
import { FLAG_COMPRESSED, FLAG_GRPC_WEB_TRAILER, encodeEnvelope } from "../../call/envelope.js";
import { COMPRESS_MIN_BYTES, acceptsGzip, compress } from "../../call/compression.js";
import { type Metadata, copyMetadata } from "../../call/metadata.js";
import { type Codec } from "../../call/call.js";
import { type InboundProtocol, type ServerRequest, type ServerResponseLike, bodyStream, contentType, requestBody, writeWithBackpressure } from "../inbound.js";
import { grpcCodec, parseGrpcRequest } from "../grpc/inbound.js";
import { statusToGrpcHeaders } from "../grpc/status-headers.js";
import { decodeBase64Stream } from "./base64-stream.js";

interface WebType {
  codec: Codec;
  text: boolean;
}

export function grpcWebType(ct: string): WebType | undefined {
  const text = grpcCodec(ct, "application/grpc-web-text");
  if (text) return { codec: text, text: true };
  const bin = grpcCodec(ct, "application/grpc-web");
  return bin ? { codec: bin, text: false } : undefined;
}

/** gRPC-Web trailers are a body frame of "key: value\r\n" lines flagged 0x80. */
export function encodeWebTrailers(md: Record<string, string | string[]>): Buffer {
  let s = "";
  for (const k in md) {
    const v = md[k];
    for (const one of Array.isArray(v) ? v : [v]) s += `${k}: ${one}\r\n`;
  }
  return encodeEnvelope(FLAG_GRPC_WEB_TRAILER, Buffer.from(s));
}

function grpcWebSink(req: ServerRequest, res: ServerResponseLike, type: WebType): ResponseSink {
  const gzip = acceptsGzip(req.headers["grpc-accept-encoding"]);
  const ct = `application/grpc-web${type.text ? "-text" : ""}+${type.codec}`;
  // Text mode sends every frame as its own padded base64 run, which the
  // gRPC-Web spec allows and lets each frame go out as soon as it is ready.
  const frame = (b: Buffer): Buffer => (type.text ? Buffer.from(b.toString("base64")) : b);
  let sent = false;
  const sendHeaders = (md: Metadata) => {
    sent = true;
    const h = copyMetadata(md);
    h["content-type"] = ct;
    if (gzip && !type.text) h["grpc-encoding"] = "gzip";
    if (!res.headersSent && !res.destroyed) res.writeHead(200, h);
  };
  return {
    headers: sendHeaders,
    message(data, raw) {
      if (!sent) sendHeaders({});
      const z = gzip && !type.text && data.byteLength >= COMPRESS_MIN_BYTES;
      if (!z && raw && !type.text) return writeWithBackpressure(res, raw);
      return writeWithBackpressure(res, frame(encodeEnvelope(z ? FLAG_COMPRESSED : 0, z ? compress(data, "gzip") : data)));
    },
    end(status: Status, trailers: Metadata) {
      if (res.destroyed || res.writableEnded) return;
      if (!sent) sendHeaders({});
      res.end(frame(encodeWebTrailers({ ...trailers, ...statusToGrpcHeaders(status) })));
    },
  };
}

export const grpcWebInbound: InboundProtocol = {
  name: "grpc-web",
  sink: (req, res) => grpcWebSink(req, res, grpcWebType(contentType(req)) ?? { codec: "proto", text: false }),
  parse(req, opts) {
    const type = grpcWebType(contentType(req));
    if (!type) throw new CallError(Code.INTERNAL, `unsupported content-type "${contentType(req)}"`);
    const body = type.text ? () => decodeBase64Stream(requestBody(req)) : () => requestBody(req);
    return parseGrpcRequest(req, opts, type.codec, body, type.text ? undefined : bodyStream(req));
  },
};
