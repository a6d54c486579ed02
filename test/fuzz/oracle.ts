import type { FuzzCase } from "./cases.js";

// What counts as a protocol-correct answer, written from the protocols'
// specifications rather than from the gateway's code: an HTTP status, and
// the status in the form the response's content type promises.

export interface Answer {
  /** undefined: no response headers came (reset, closed, timed out). */
  status: number | undefined;
  headers: Record<string, string | string[] | undefined>;
  trailers: Record<string, string | string[] | undefined>;
  body: Buffer;
  /** Why no response came, when none did. */
  error?: string;
}

/** Connect's code -> HTTP status table (connectrpc.com/docs/protocol#error-codes). */
const CONNECT_HTTP: Record<string, number> = {
  canceled: 499,
  unknown: 500,
  invalid_argument: 400,
  deadline_exceeded: 504,
  not_found: 404,
  already_exists: 409,
  permission_denied: 403,
  resource_exhausted: 429,
  failed_precondition: 400,
  aborted: 409,
  out_of_range: 400,
  unimplemented: 501,
  internal: 500,
  unavailable: 503,
  data_loss: 500,
  unauthenticated: 401,
};

/** gRPC's HTTP status -> code table (doc/http-grpc-status-mapping.md), which Connect clients apply too. */
function HTTP_TO_CODE(status: number): string {
  switch (status) {
    case 400:
      return "internal";
    case 401:
      return "unauthenticated";
    case 403:
      return "permission_denied";
    case 404:
      return "unimplemented";
    case 429:
    case 502:
    case 503:
    case 504:
      return "unavailable";
    default:
      return "unknown";
  }
}

/**
 * What the gateway answers in plain text, Fastify's JSON or an empty body:
 * requests that are not an RPC it takes (505: connect-es, serving the
 * gateway's own reflection, refuses a bidi call over HTTP/1.1 so).
 */
const PLAIN_STATUSES = new Set([400, 404, 405, 408, 413, 415, 431, 505]);

const RPC_PATH = /^\/[^/?]+\.[^/?]+\/[^/?]+(\?|$)/;

const first = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v);

/** A problem with `answer` as the answer to `c`, or undefined when it is protocol-correct. */
export function judge(c: FuzzCase, a: Answer): string | undefined {
  if (a.status === undefined) return `no response: ${a.error ?? "nothing"}`;
  if (!Number.isInteger(a.status) || a.status < 100 || a.status > 599) return `HTTP status ${a.status}`;
  const ct = (first(a.headers["content-type"]) ?? "").toLowerCase();
  // A CORS preflight: answered, or refused (403) when it names no allowed origin.
  if (c.method === "OPTIONS" && (a.status === 204 || a.status === 403)) return undefined;
  const expected = expectedFamily(c);
  const family = familyOf(ct);
  if (expected && family !== expected && !(expected === "connect-unary" && family === "plain" && a.status === 415))
    return `a ${expected} request got a ${family} answer (HTTP ${a.status}, ${ct || "no content-type"})`;
  switch (family) {
    case "grpc":
      return grpcStatus(a, first(a.trailers["grpc-status"]) ?? first(a.headers["grpc-status"]));
    case "grpc-web":
      return grpcWeb(a, ct.startsWith("application/grpc-web-text"));
    case "connect-stream":
      return connectStream(a);
    case "connect-unary":
      return connectUnary({ ...a, status: a.status }, ct);
    case "plain":
      return PLAIN_STATUSES.has(a.status) ? undefined : `plain answer with HTTP ${a.status}`;
    default:
      return `unexpected content-type "${ct}" with HTTP ${a.status}`;
  }
}

type Family = "grpc" | "grpc-web" | "connect-stream" | "connect-unary" | "plain" | "other";

function familyOf(ct: string): Family {
  if (ct.startsWith("application/grpc-web")) return "grpc-web";
  if (ct.startsWith("application/grpc")) return "grpc";
  if (ct.startsWith("application/connect+")) return "connect-stream";
  if (ct.startsWith("application/json") || ct.startsWith("application/proto")) return "connect-unary";
  if (ct.startsWith("text/plain") || ct === "") return "plain";
  return "other";
}

/** The answer's family a well-formed request must get: a POST (or Connect GET) to an RPC path with an RPC content type. */
function expectedFamily(c: FuzzCase): Family | undefined {
  if (!RPC_PATH.test(c.path) || c.path.startsWith("/grpc.reflection.")) return undefined;
  const ct = (c.headers["content-type"] ?? "").toLowerCase();
  if (c.method === "POST") {
    if (ct.startsWith("application/grpc-web")) return "grpc-web";
    if (ct.startsWith("application/grpc")) return "grpc";
    if (ct === "application/connect+proto" || ct === "application/connect+json") return "connect-stream";
    if (ct === "application/proto" || ct === "application/json") return "connect-unary";
    return undefined;
  }
  return undefined;
}

function grpcStatus(a: Answer, s: string | undefined): string | undefined {
  if (a.status !== 200) return `gRPC answer with HTTP ${a.status}`;
  if (s === undefined) return "gRPC answer without grpc-status";
  const n = Number(s);
  return Number.isInteger(n) && n >= 0 && n <= 16 ? undefined : `grpc-status "${s}"`;
}

/** Splits length-prefixed frames; undefined when the body does not split whole. */
function frames(body: Buffer): Array<{ flags: number; data: Buffer }> | undefined {
  const out = [];
  let i = 0;
  while (i < body.length) {
    if (i + 5 > body.length) return undefined;
    const len = body.readUInt32BE(i + 1);
    if (i + 5 + len > body.length) return undefined;
    out.push({ flags: body[i]!, data: body.subarray(i + 5, i + 5 + len) });
    i += 5 + len;
  }
  return out;
}

function grpcWeb(a: Answer, text: boolean): string | undefined {
  if (a.status !== 200) return `gRPC-Web answer with HTTP ${a.status}`;
  const inHeaders = first(a.headers["grpc-status"]);
  // Text mode: base64 chunks, each padded.
  const body = text
    ? Buffer.concat((a.body.toString("latin1").match(/[^=]+=*/g) ?? []).map((s) => Buffer.from(s, "base64")))
    : a.body;
  const fr = frames(body);
  if (!fr) return "gRPC-Web body does not split into frames";
  const trailer = fr.find((f) => f.flags & 0x80);
  if (!trailer) return inHeaders !== undefined ? grpcStatus(a, inHeaders) : "gRPC-Web answer without a status";
  const m = /(?:^|\r\n)grpc-status:\s*(\d+)/i.exec(trailer.data.toString("latin1"));
  return grpcStatus(a, m?.[1]);
}

function connectError(json: unknown): string | undefined {
  const code = (json as { code?: unknown } | null)?.code;
  if (typeof code !== "string" || !(code in CONNECT_HTTP)) return `Connect error code ${JSON.stringify(code)}`;
  return undefined;
}

function connectStream(a: Answer): string | undefined {
  if (a.status !== 200) return `Connect stream answer with HTTP ${a.status}`;
  const fr = frames(a.body);
  if (!fr || fr.length === 0) return "Connect stream body does not split into frames";
  const end = fr.at(-1)!;
  if (!(end.flags & 0x02)) return "Connect stream without an end-of-stream message";
  let json: { error?: unknown };
  try {
    json = JSON.parse(end.data.toString("utf8")) as { error?: unknown };
  } catch {
    return "Connect end-of-stream message is not JSON";
  }
  return json.error === undefined ? undefined : connectError(json.error);
}

function connectUnary(a: Answer & { status: number }, ct: string): string | undefined {
  if (a.status === 200) return undefined;
  if (!ct.startsWith("application/json")) return `Connect unary error as ${ct}`;
  let json: { code?: unknown; statusCode?: unknown };
  try {
    json = JSON.parse(a.body.toString("utf8")) as typeof json;
  } catch {
    return "Connect unary error body is not JSON";
  }
  // Fastify's own answers (routes that are not RPCs) carry statusCode.
  if (typeof json.statusCode === "number")
    return json.statusCode === a.status && PLAIN_STATUSES.has(a.status) ? undefined : `Fastify answer ${a.status}`;
  const problem = connectError(json);
  if (problem) return problem;
  const code = json.code as string;
  // Either the table's status for the code, or an upstream's own HTTP status
  // passed on with the code it means (a plain 404 stays a 404, unimplemented).
  if (CONNECT_HTTP[code] === a.status || HTTP_TO_CODE(a.status) === code) return undefined;
  return `Connect code ${code} with HTTP ${a.status} (want ${CONNECT_HTTP[code]})`;
}
