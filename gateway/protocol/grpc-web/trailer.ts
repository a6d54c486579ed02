import type { IncomingHttpHeaders } from "node:http";
import { FLAG_GRPC_WEB_TRAILER, encodeEnvelope } from "../../call/envelope.js";

// gRPC-Web trailers travel in the body: an envelope flagged 0x80 whose
// payload is HTTP/1-style "key: value\r\n" lines. Written for clients
// (inbound) and read from upstreams (outbound), here both ways.

/** The trailer frame for `md`. */
export function encodeWebTrailers(md: Record<string, string | string[]>): Buffer {
  let s = "";
  for (const k in md) {
    const v = md[k];
    for (const one of Array.isArray(v) ? v : [v]) s += `${k}: ${one}\r\n`;
  }
  return encodeEnvelope(FLAG_GRPC_WEB_TRAILER, Buffer.from(s));
}

/** A trailer frame's payload as headers; keys lower-cased, repeated keys kept as arrays. */
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
