import type { Codec, Message, ResponseSink } from "../../call/call.js";
import { splitPath } from "../../call/call.js";
import { Code, CallError, type Status, codeToHttpStatus } from "../../call/status.js";
import { FLAG_COMPRESSED, FLAG_CONNECT_END, readEnvelopes } from "../../call/envelope.js";
import {
  COMPRESS_MIN_BYTES,
  type Encoding,
  acceptsGzip,
  compress,
  decompress,
  parseEncoding,
} from "../../call/compression.js";
import { readUnaryBody } from "../../call/unary-request.js";
import { Cancel } from "../../call/cancel.js";
import { parseConnectTimeout } from "./timeout.js";
import { type Metadata, copyMetadata, firstValue, forwardableRequestMetadata } from "../../call/metadata.js";
import type { InboundCall, InboundOptions, InboundProtocol, ServerRequest, ServerResponseLike } from "../contract.js";
import { bodyStream, contentType, requestBody } from "../server-io.js";
import { EnvelopedSink } from "../enveloped-sink.js";
import { endStreamJson, statusToErrorJson } from "./error-json.js";
import { parseGetQuery } from "./get.js";

export type ConnectForm = { stream: boolean; codec: Codec };

/** application/proto|json (unary) or application/connect+proto|json (streaming). */
export function connectForm(req: ServerRequest): ConnectForm | undefined {
  if (req.method === "GET") return { stream: false, codec: getCodec(req) };
  const ct = contentType(req).split(";")[0].trim();
  switch (ct) {
    case "application/proto":
      return { stream: false, codec: "proto" };
    case "application/json":
      return { stream: false, codec: "json" };
    case "application/connect+proto":
      return { stream: true, codec: "proto" };
    case "application/connect+json":
      return { stream: true, codec: "json" };
    default:
      return undefined;
  }
}

function getCodec(req: ServerRequest): Codec {
  return new URLSearchParams(req.url?.split("?")[1] ?? "").get("encoding") === "json" ? "json" : "proto";
}

function unarySink(req: ServerRequest, res: ServerResponseLike, codec: Codec): ResponseSink {
  const gzip = acceptsGzip(req.headers["accept-encoding"]);
  let headers: Metadata = {};
  let body: Uint8Array | undefined;
  return {
    headers(md) {
      headers = md;
    },
    message(data) {
      body = data;
    },
    end(status: Status, trailers: Metadata) {
      if (res.headersSent || res.destroyed) return;
      const h = copyMetadata(headers);
      for (const k in trailers) h[`trailer-${k}`] = trailers[k];
      if (status.code === Code.OK) {
        let out = body ?? new Uint8Array(0);
        h["content-type"] = `application/${codec}`;
        if (gzip && out.byteLength >= COMPRESS_MIN_BYTES) {
          out = compress(out, "gzip");
          h["content-encoding"] = "gzip";
        }
        res.writeHead(200, h);
        res.end(out);
        return;
      }
      h["content-type"] = "application/json";
      res.writeHead(status.httpStatus ?? codeToHttpStatus(status.code), h);
      res.end(JSON.stringify(statusToErrorJson(status)));
    },
  };
}

/** Connect streaming: envelopes, then an end-of-stream envelope with the status as JSON; always HTTP 200. */
class ConnectStreamSink extends EnvelopedSink {
  end(status: Status, trailers: Metadata): void {
    if (this.over) return;
    if (!this.sent) this.headers({});
    this.res.end(this.envelope(FLAG_CONNECT_END, endStreamJson(status, trailers)));
  }
}

function streamSink(req: ServerRequest, res: ServerResponseLike, codec: Codec): ResponseSink {
  return new ConnectStreamSink(res, {
    contentType: `application/connect+${codec}`,
    fixedHeaders: { "connect-accept-encoding": "gzip" },
    encodingHeader: "connect-content-encoding",
    gzip: acceptsGzip(req.headers["connect-accept-encoding"]),
    text: false,
  });
}

function parse(req: ServerRequest, opts: InboundOptions): InboundCall {
  const form = connectForm(req);
  if (!form) throw new CallError(Code.UNKNOWN, `unsupported content-type "${contentType(req)}"`);
  const [pathname] = (req.url ?? "").split("?");
  const parts = splitPath(pathname);
  if (!parts) throw new CallError(Code.UNIMPLEMENTED, `"${pathname}" is not an RPC path (/package.Service/Method)`);
  const version = firstValue(req.headers["connect-protocol-version"]);
  if (version !== undefined && version !== "1") {
    throw new CallError(Code.INVALID_ARGUMENT, `connect-protocol-version must be "1", got "${version}"`);
  }
  const timeoutMs = parseConnectTimeout(firstValue(req.headers["connect-timeout-ms"]));
  const head = {
    path: pathname,
    ...parts,
    kind: form.stream ? undefined : ("unary" as const),
    codec: form.codec,
    metadata: forwardableRequestMetadata(req.headers),
    timeoutMs,
  };
  if (req.method === "GET") {
    const q = parseGetQuery(req.url ?? "");
    return { head: { ...head, codec: q.codec }, messages: getMessage(q.message, q.encoding, opts.maxBytes) };
  }
  if (form.stream) {
    const encoding = parseEncoding(firstValue(req.headers["connect-content-encoding"]), "connect-content-encoding");
    return { head, messages: streamMessages(req, encoding, opts.maxBytes) };
  }
  const encoding = parseEncoding(firstValue(req.headers["content-encoding"]), "content-encoding");
  return {
    head,
    messages: unaryMessage(req, encoding, opts.maxBytes),
    readWhole: (cancel) => wholeMessage(req, encoding, opts.maxBytes, cancel),
  };
}

/** The unary lane's read (docs/DESIGN.md, "The hot path"): the body whole, with plain listeners. */
function wholeMessage(req: ServerRequest, encoding: Encoding, maxBytes: number, cancel: Cancel): Promise<Message[]> {
  // A compressed body may legitimately exceed the limit by its framing only; the decompressed size is what counts.
  const limit = encoding === "identity" ? maxBytes : maxBytes * 2 + 1024;
  const raw = readUnaryBody(bodyStream(req), limit, cancel);
  if (encoding === "identity") return raw.then((data) => [{ data }]);
  return raw.then((z) => decompress(z, encoding, maxBytes)).then((data) => [{ data }]);
}

async function* getMessage(message: Uint8Array, encoding: Encoding, maxBytes: number) {
  yield await decompress(message, encoding, maxBytes);
}

/** The streamed path's one message: the same whole read, for calls off the unary lane. */
async function* unaryMessage(req: ServerRequest, encoding: Encoding, maxBytes: number) {
  const [message] = await wholeMessage(req, encoding, maxBytes, new Cancel());
  yield message!.data;
}

async function* streamMessages(req: ServerRequest, encoding: ReturnType<typeof parseEncoding>, maxBytes: number) {
  for await (const env of readEnvelopes(requestBody(req), maxBytes)) {
    if (env.flags & FLAG_CONNECT_END) {
      throw new CallError(
        Code.INVALID_ARGUMENT,
        "protocol error: a request stream must not carry an end-of-stream message",
      );
    }
    if (env.flags & FLAG_COMPRESSED) {
      if (encoding === "identity")
        throw new CallError(Code.INTERNAL, "protocol error: compressed message without connect-content-encoding");
      yield await decompress(env.data, encoding, maxBytes);
    } else yield env.data;
  }
}

export const connectInbound: InboundProtocol = {
  name: "connect",
  httpTrailers: false,
  sink(req, res) {
    const form = connectForm(req) ?? { stream: false, codec: "json" };
    return form.stream ? streamSink(req, res, form.codec) : unarySink(req, res, form.codec);
  },
  parse,
};
