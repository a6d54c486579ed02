import type { IncomingHttpHeaders } from "node:http";
import type { ResponseEvent } from "../../call/call.js";
import { Code, httpStatusToCode } from "../../call/status.js";
import { EnvelopeSplitter, FLAG_COMPRESSED, encodeEnvelope } from "../../call/envelope.js";
import { decompress, parseEncoding } from "../../call/compression.js";
import { encodeGrpcTimeout } from "../../call/deadline.js";
import { firstValue, forwardableResponseMetadata } from "../../call/metadata.js";
import type { OutboundCall } from "../outbound.js";
import { drain, mapIterable } from "../../call/iterables.js";
import { statusFromGrpcHeaders } from "./status-headers.js";

/**
 * gRPC and gRPC-Web upstreams differ only in content type and where the
 * trailers travel, so one adapter speaks both.
 */
export async function* grpcOutbound(call: OutboundCall, web: boolean): AsyncGenerator<ResponseEvent> {
  const { head, transport, label } = call;
  const base = web ? "application/grpc-web" : "application/grpc";
  // No grpc-accept-encoding, so upstreams answer uncompressed: on the hop
  // from gateway to upstream, gunzipping every answer cost 20-30% of the
  // gateway's CPU per small call (bench/RESULTS.md). Compressed answers are
  // still decoded.
  const headers: Record<string, string | string[]> = {
    ...head.metadata,
    "content-type": `${base}+${head.codec}`,
  };
  if (web) headers["x-grpc-web"] = "1";
  else headers["te"] = "trailers";
  if (call.timeoutMs !== undefined) headers["grpc-timeout"] = encodeGrpcTimeout(call.timeoutMs);

  const res = await transport.request({
    method: "POST",
    path: head.path,
    headers,
    body: mapIterable(call.messages, (m) => encodeEnvelope(0, m)),
    cancel: call.cancel,
  });
  if (res.status !== 200) {
    await drain(res.body);
    yield* endFromHttp(res.status, res.headers, label);
    return;
  }
  const ct = firstValue(res.headers["content-type"]) ?? "";
  if (!ct.startsWith(base)) {
    await drain(res.body);
    yield { type: "end", status: { code: Code.UNKNOWN, message: `${label} answered with content-type "${ct}", not ${base}`, details: [] }, trailers: {} };
    return;
  }
  if (res.headers["grpc-status"] !== undefined) {
    // Trailers-only: the status came with the headers.
    await drain(res.body);
    yield { type: "end", status: statusFromGrpcHeaders(res.headers, label), trailers: forwardableResponseMetadata(res.headers) };
    return;
  }
  yield { type: "headers", metadata: forwardableResponseMetadata(res.headers) };
  const encoding = parseEncoding(firstValue(res.headers["grpc-encoding"]), "grpc-encoding");
  let trailers: IncomingHttpHeaders | undefined;
  const split = new EnvelopeSplitter(call.maxBytes);
  for await (const chunk of res.body) {
    for (const env of split.push(chunk)) {
      if (env.flags === 0) {
        yield { type: "message", data: env.data, frame: env.frame };
        continue;
      }
      // The trailer frame may be compressed too (0x81), e.g. by connect-go.
      const data = env.flags & FLAG_COMPRESSED ? await decompress(env.data, encoding, call.maxBytes) : env.data;
      if (web && env.flags & 0x80) {
        trailers = parseWebTrailers(data);
        continue;
      }
      yield { type: "message", data };
    }
  }
  split.end();
  if (!web) trailers = res.trailers();
  if (!trailers) {
    yield { type: "end", status: { code: Code.INTERNAL, message: `${label} ended the stream without trailers`, details: [] }, trailers: {} };
    return;
  }
  yield { type: "end", status: statusFromGrpcHeaders(trailers, label), trailers: forwardableResponseMetadata(trailers) };
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

function* endFromHttp(httpStatus: number, headers: IncomingHttpHeaders, label: string): Generator<ResponseEvent> {
  if (headers["grpc-status"] !== undefined) {
    yield { type: "end", status: statusFromGrpcHeaders(headers, label), trailers: {} };
    return;
  }
  const code = httpStatusToCode(httpStatus);
  yield { type: "end", status: { code, message: `${label} answered HTTP ${httpStatus}`, details: [], httpStatus }, trailers: {} };
}
