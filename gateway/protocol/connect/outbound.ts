import type { IncomingHttpHeaders } from "node:http";
import type { Message, ResponseEvent } from "../../call/call.js";
import { Code } from "../../call/status.js";
import { FLAG_COMPRESSED, FLAG_CONNECT_END, encodeEnvelope, readEnvelopes } from "../../call/envelope.js";
import { compressForUpstream, decompress, parseEncoding, upstreamEnvelope } from "../../call/compression.js";
import { type Metadata, copyMetadata, firstValue, forwardableResponseMetadata } from "../../call/metadata.js";
import { drain, mapIterable } from "../../call/iterables.js";
import { type OutboundCall, type RequestMessages, isWhole } from "../contract.js";
import { encodeConnectTimeout } from "./timeout.js";
import { parseEndStream, statusFromHttpError } from "./error-json.js";
import { readAll, singleMessage } from "../../call/body.js";

export async function* connectOutbound(call: OutboundCall): AsyncGenerator<ResponseEvent> {
  if (call.head.kind === "unary") yield* unary(call);
  else yield* streaming(call);
}

function baseHeaders(call: OutboundCall): Record<string, string | string[]> {
  const h = copyMetadata(call.head.metadata);
  h["connect-protocol-version"] = "1";
  if (call.deadline) h["connect-timeout-ms"] = encodeConnectTimeout(call.deadline.remaining());
  return h;
}

async function* unary(call: OutboundCall): AsyncGenerator<ResponseEvent> {
  const { head, label } = call;
  const message = await singleMessage(streamOf(call.messages));
  const headers = baseHeaders(call);
  headers["content-type"] = `application/${head.codec}`;
  let body = message;
  if (call.compression === "gzip") {
    headers["accept-encoding"] = "gzip";
    // The whole body is the one message: compressed, or not at all.
    const z = compressForUpstream(message, "gzip");
    if (z) {
      headers["content-encoding"] = "gzip";
      body = z;
    }
  }
  const res = await call.transport.request({ method: "POST", path: head.path, headers, body, cancel: call.cancel });
  const encoding = parseEncoding(firstValue(res.headers["content-encoding"]), "content-encoding");
  const raw = await decompress(await readAll(res.body, call.maxBytes), encoding, call.maxBytes);
  const { metadata, trailers } = splitUnaryHeaders(res.headers);
  if (res.status !== 200) {
    yield { type: "end", status: statusFromHttpError(res.status, raw, label), trailers: { ...metadata, ...trailers } };
    return;
  }
  yield { type: "headers", metadata };
  yield { type: "message", data: raw };
  yield { type: "end", status: { code: Code.OK, message: "", details: [] }, trailers };
}

/** Connect unary trailers travel as "trailer-" prefixed headers. */
function splitUnaryHeaders(h: IncomingHttpHeaders): { metadata: Metadata; trailers: Metadata } {
  const all = forwardableResponseMetadata(h);
  const metadata: Metadata = {};
  const trailers: Metadata = {};
  for (const k in all) {
    if (k.startsWith("trailer-")) trailers[k.slice(8)] = all[k];
    else metadata[k] = all[k];
  }
  return { metadata, trailers };
}

async function* streaming(call: OutboundCall): AsyncGenerator<ResponseEvent> {
  const { head, label } = call;
  const headers = baseHeaders(call);
  headers["content-type"] = `application/connect+${head.codec}`;
  const gzip = call.compression === "gzip";
  if (gzip) {
    headers["connect-content-encoding"] = "gzip";
    headers["connect-accept-encoding"] = "gzip";
  }
  const res = await call.transport.request({
    method: "POST",
    path: head.path,
    headers,
    body: mapIterable(streamOf(call.messages), gzip ? gzipEnvelope : plainEnvelope),
    cancel: call.cancel,
  });
  if (res.status !== 200) {
    const raw = await readAll(res.body, call.maxBytes).catch(() => new Uint8Array(0));
    yield { type: "end", status: statusFromHttpError(res.status, raw, label), trailers: {} };
    return;
  }
  yield { type: "headers", metadata: forwardableResponseMetadata(res.headers) };
  const encoding = parseEncoding(firstValue(res.headers["connect-content-encoding"]), "connect-content-encoding");
  for await (const env of readEnvelopes(res.body, call.maxBytes)) {
    const data = env.flags & FLAG_COMPRESSED ? await decompress(env.data, encoding, call.maxBytes) : env.data;
    if (env.flags & FLAG_CONNECT_END) {
      const end = parseEndStream(data, label);
      await drain(res.body);
      yield { type: "end", status: end.status, trailers: end.trailers };
      return;
    }
    yield { type: "message", data };
  }
  yield {
    type: "end",
    status: { code: Code.INTERNAL, message: `${label} ended the stream without an end-of-stream message`, details: [] },
    trailers: {},
  };
}

const plainEnvelope = (m: Uint8Array) => encodeEnvelope(0, m);
const gzipEnvelope = (m: Uint8Array) => upstreamEnvelope(m, "gzip");

/** Connect frames every request itself, so a request read whole is streamed like any other. */
async function* wholeAsStream(messages: readonly Message[]): AsyncGenerator<Uint8Array> {
  for (const m of messages) yield m.data;
}

function streamOf(m: RequestMessages): AsyncIterable<Uint8Array> {
  return isWhole(m) ? wholeAsStream(m) : m;
}
