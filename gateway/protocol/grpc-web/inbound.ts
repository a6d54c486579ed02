import type { ResponseSink } from "../../call/call.js";
import { Code, CallError, type Status } from "../../call/status.js";
import { acceptsGzip } from "../../call/compression.js";
import type { Metadata } from "../../call/metadata.js";
import type { Codec } from "../../call/call.js";
import type { InboundProtocol, ServerRequest, ServerResponseLike } from "../contract.js";
import { bodyStream, contentType, requestBody } from "../server-io.js";
import { EnvelopedSink } from "../enveloped-sink.js";
import { GRPC_ACCEPT_ENCODING, grpcCodec, parseGrpcRequest } from "../grpc/inbound.js";
import { statusToGrpcHeaders } from "../grpc/status-headers.js";
import { decodeBase64Stream } from "./base64-stream.js";
import { encodeWebTrailers } from "./trailer.js";

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

/** gRPC-Web: gRPC's framing, with the status in a trailer frame at the end of the body. */
class GrpcWebSink extends EnvelopedSink {
  end(status: Status, trailers: Metadata): void {
    if (this.over) return;
    if (!this.sent) this.headers({});
    const frame = encodeWebTrailers({ ...trailers, ...statusToGrpcHeaders(status) });
    this.res.end(this.framing.text ? Buffer.from(frame.toString("base64")) : frame);
  }
}

function grpcWebSink(req: ServerRequest, res: ServerResponseLike, type: WebType): ResponseSink {
  // Text mode sends every frame as its own padded base64 run, which the
  // gRPC-Web spec allows and lets each frame go out as soon as it is ready.
  // It is never compressed: base64 of gzip gains little and clients differ.
  return new GrpcWebSink(res, {
    contentType: `application/grpc-web${type.text ? "-text" : ""}+${type.codec}`,
    fixedHeaders: GRPC_ACCEPT_ENCODING,
    encodingHeader: type.text ? undefined : "grpc-encoding",
    gzip: !type.text && acceptsGzip(req.headers["grpc-accept-encoding"]),
    text: type.text,
  });
}

export const grpcWebInbound: InboundProtocol = {
  name: "grpc-web",
  httpTrailers: false,
  sink: (req, res) => grpcWebSink(req, res, grpcWebType(contentType(req)) ?? { codec: "proto", text: false }),
  parse(req, opts) {
    const type = grpcWebType(contentType(req));
    if (!type) throw new CallError(Code.INTERNAL, `unsupported content-type "${contentType(req)}"`);
    const body = type.text ? () => decodeBase64Stream(requestBody(req)) : () => requestBody(req);
    return parseGrpcRequest(req, opts, type.codec, body, type.text ? undefined : bodyStream(req));
  },
};
