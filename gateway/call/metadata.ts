import type { IncomingHttpHeaders } from "node:http";

/** Header names are lower-case; a repeated header is an array. */
export type Metadata = Record<string, string | string[]>;

// Hop-by-hop headers and the pseudo-headers belong to one connection and
// Node's HTTP/2 client throws on most of them.
const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "upgrade",
  "te",
  "host",
  "http2-settings",
  "content-length",
]);

// Headers each protocol adapter writes for itself; forwarding the client's
// copy would contradict what the outbound protocol says.
const PROTOCOL_HEADERS = new Set([
  "content-type",
  "content-encoding",
  "accept-encoding",
  "grpc-timeout",
  "grpc-encoding",
  "grpc-accept-encoding",
  "connect-timeout-ms",
  "connect-protocol-version",
  "connect-content-encoding",
  "connect-accept-encoding",
  "x-grpc-web",
  "x-user-agent",
  // Browser and CORS plumbing: meaningful to the gateway, not the upstream.
  "origin",
  "referer",
  "access-control-request-method",
  "access-control-request-headers",
  "sec-fetch-mode",
  "sec-fetch-site",
  "sec-fetch-dest",
]);

// One lookup per header on the way in and out (docs/DESIGN.md, "The hot path").
const REQUEST_DROPPED: ReadonlySet<string> = new Set([...HOP_BY_HOP, ...PROTOCOL_HEADERS]);

/** Request metadata an upstream should see: application headers only. */
export function forwardableRequestMetadata(headers: IncomingHttpHeaders): Metadata {
  const out: Metadata = {};
  for (const name in headers) {
    if (name.charCodeAt(0) === 58 /* ':' */) continue;
    if (REQUEST_DROPPED.has(name)) continue;
    const v = headers[name];
    if (v !== undefined) out[name] = v;
  }
  return out;
}

const RESPONSE_DROPPED: ReadonlySet<string> = new Set([
  ...HOP_BY_HOP,
  ...PROTOCOL_HEADERS,
  "grpc-status",
  "grpc-message",
  "grpc-status-details-bin",
  "date",
  "server",
  "vary",
]);

/** Response headers or trailers a client should see: application metadata only. */
export function forwardableResponseMetadata(headers: IncomingHttpHeaders | Metadata): Metadata {
  const out: Metadata = {};
  for (const name in headers) {
    if (name.charCodeAt(0) === 58) continue;
    if (RESPONSE_DROPPED.has(name)) continue;
    if (name.charCodeAt(0) === 97 /* 'a' */ && name.startsWith("access-control-")) continue;
    const v = headers[name];
    if (v !== undefined) out[name] = v as string | string[];
  }
  return out;
}

/**
 * A copy of `md` to add headers to. Not `{ ...md, key: value }`: on Node 20,
 * V8 takes a slow path for any property added to an object made by spread
 * (about 1.4 µs each time, against 0.02 µs for this loop; bench/RESULTS.md,
 * optimisation log), and the hot path built several such objects per call.
 */
export function copyMetadata(md: Metadata): Metadata {
  const out: Metadata = {};
  for (const k in md) out[k] = md[k];
  return out;
}

export function firstValue(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}
