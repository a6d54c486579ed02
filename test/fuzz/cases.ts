import fc from "fast-check";
import { gzipSync } from "node:zlib";

// Requests for the fuzz suite: a well-formed call in one of the gateway's
// inbound forms, then mutated (body bytes, length prefixes, flags, headers,
// paths, methods, query), so most cases are almost right, which is where
// parsers break.

export type Form = "grpc" | "grpc-web" | "grpc-web-text" | "connect-unary" | "connect-stream" | "connect-get";

export interface FuzzCase {
  http: "1.1" | "2";
  form: Form;
  method: string;
  path: string;
  headers: Record<string, string>;
  body: Buffer;
}

const SERVICE = "/acme.echo.v1.EchoService/";
const METHODS = ["Echo", "Count", "Sum", "Chat", "Write"] as const;
type Method = (typeof METHODS)[number];

/** Protobuf varint. */
function varint(n: number): number[] {
  const out: number[] = [];
  let v = n >>> 0;
  while (v >= 0x80) {
    out.push((v & 0x7f) | 0x80);
    v >>>= 7;
  }
  out.push(v);
  return out;
}

function field(no: number, value: string | number): Buffer {
  if (typeof value === "number") return Buffer.from([(no << 3) | 0, ...varint(value)]);
  const b = Buffer.from(value, "utf8");
  return Buffer.from([(no << 3) | 2, ...varint(b.length), ...b]);
}

/** One request message of `method`, as proto and as JSON. Counts and intervals stay small: a case must end quickly. */
function message(method: Method, text: string, n: number): { proto: Buffer; json: string } {
  switch (method) {
    case "Count":
      return {
        proto: Buffer.concat([field(1, n % 5), field(2, n % 7)]),
        json: JSON.stringify({ count: n % 5, intervalMs: n % 7 }),
      };
    case "Sum":
      return { proto: field(1, n), json: JSON.stringify({ value: String(n) }) };
    case "Write":
      return { proto: Buffer.concat([field(1, text), field(2, "v")]), json: JSON.stringify({ key: text, value: "v" }) };
    default:
      return { proto: field(1, text), json: JSON.stringify({ message: text }) };
  }
}

function envelope(flags: number, data: Buffer): Buffer {
  const b = Buffer.alloc(5 + data.length);
  b[0] = flags;
  b.writeUInt32BE(data.length, 1);
  data.copy(b, 5);
  return b;
}

const CONTENT_TYPES: Record<Form, string[]> = {
  grpc: ["application/grpc", "application/grpc+proto", "application/grpc+json"],
  "grpc-web": ["application/grpc-web", "application/grpc-web+proto", "application/grpc-web+json"],
  "grpc-web-text": ["application/grpc-web-text", "application/grpc-web-text+proto"],
  "connect-unary": ["application/proto", "application/json"],
  "connect-stream": ["application/connect+proto", "application/connect+json"],
  "connect-get": [],
};

interface Base {
  http: "1.1" | "2";
  form: Form;
  method: Method;
  ct: number;
  texts: string[];
  n: number;
  gzip: boolean;
}

const base: fc.Arbitrary<Base> = fc.record({
  http: fc.constantFrom("1.1" as const, "2" as const),
  form: fc.constantFrom<Form>("grpc", "grpc-web", "grpc-web-text", "connect-unary", "connect-stream", "connect-get"),
  method: fc.constantFrom(...METHODS),
  ct: fc.nat(2),
  texts: fc.array(fc.string({ maxLength: 40 }), { minLength: 1, maxLength: 3 }),
  n: fc.nat(1_000_000),
  gzip: fc.boolean(),
});

/** The well-formed request for `b`. */
function wellFormed(b: Base): FuzzCase {
  const types = CONTENT_TYPES[b.form];
  const ct = types[b.ct % Math.max(types.length, 1)] ?? "";
  const json = ct.endsWith("json");
  const msgs = b.texts.map((t, i) => message(b.method, t, b.n + i));
  const one = (i: number) => {
    const m = msgs[i]!;
    return json ? Buffer.from(m.json) : m.proto;
  };
  const headers: Record<string, string> = {};
  const path = SERVICE + b.method;
  const enveloped = () =>
    Buffer.concat(msgs.map((_, i) => (b.gzip ? envelope(1, gzipSync(one(i))) : envelope(0, one(i)))));
  switch (b.form) {
    case "grpc":
      Object.assign(headers, { "content-type": ct, te: "trailers", "grpc-timeout": "2S" });
      if (b.gzip) headers["grpc-encoding"] = "gzip";
      return { http: b.http, form: b.form, method: "POST", path, headers, body: enveloped() };
    case "grpc-web":
    case "grpc-web-text": {
      Object.assign(headers, { "content-type": ct, "x-grpc-web": "1" });
      if (b.gzip) headers["grpc-encoding"] = "gzip";
      const body = enveloped();
      return {
        http: b.http,
        form: b.form,
        method: "POST",
        path,
        headers,
        body: b.form === "grpc-web-text" ? Buffer.from(body.toString("base64")) : body,
      };
    }
    case "connect-unary": {
      Object.assign(headers, { "content-type": ct, "connect-protocol-version": "1" });
      let body = one(0);
      if (b.gzip) {
        headers["content-encoding"] = "gzip";
        body = gzipSync(body);
      }
      return { http: b.http, form: b.form, method: "POST", path, headers, body };
    }
    case "connect-stream":
      Object.assign(headers, { "content-type": ct, "connect-protocol-version": "1" });
      if (b.gzip) headers["connect-content-encoding"] = "gzip";
      return { http: b.http, form: b.form, method: "POST", path, headers, body: enveloped() };
    case "connect-get": {
      const q = new URLSearchParams({ connect: "v1", encoding: b.n % 2 ? "json" : "proto" });
      let m = b.n % 2 ? Buffer.from(msgs[0]!.json) : msgs[0]!.proto;
      if (b.gzip) {
        q.set("compression", "gzip");
        m = gzipSync(m);
      }
      if (b.n % 2 && !b.gzip) q.set("message", m.toString());
      else {
        q.set("base64", "1");
        q.set("message", m.toString("base64url"));
      }
      return { http: b.http, form: b.form, method: "GET", path: `${path}?${q}`, headers, body: Buffer.alloc(0) };
    }
  }
}

type Mutation = (c: FuzzCase) => FuzzCase;

const byteMutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ at: fc.nat(), bit: fc.nat(7) }).map(({ at, bit }) => (c: FuzzCase) => {
    if (c.body.length === 0) return c;
    const body = Buffer.from(c.body);
    body[at % body.length]! ^= 1 << bit;
    return { ...c, body };
  }),
  fc.nat().map((at) => (c: FuzzCase) => ({ ...c, body: c.body.subarray(0, at % (c.body.length + 1)) })),
  fc.record({ at: fc.nat(), extra: fc.uint8Array({ maxLength: 64 }) }).map(({ at, extra }) => (c: FuzzCase) => {
    const i = at % (c.body.length + 1);
    return { ...c, body: Buffer.concat([c.body.subarray(0, i), Buffer.from(extra), c.body.subarray(i)]) };
  }),
  // A length prefix that lies: small, large, or 4 GiB.
  fc.oneof(fc.nat(64), fc.nat(), fc.constant(0xffffffff)).map((len) => (c: FuzzCase) => {
    if (c.body.length < 5) return c;
    const body = Buffer.from(c.body);
    body.writeUInt32BE(len >>> 0, 1);
    return { ...c, body };
  }),
  fc.integer({ min: 0, max: 255 }).map((flags) => (c: FuzzCase) => {
    if (c.body.length === 0) return c;
    const body = Buffer.from(c.body);
    body[0] = flags;
    return { ...c, body };
  }),
  fc.uint8Array({ maxLength: 256 }).map((bytes) => (c: FuzzCase) => ({ ...c, body: Buffer.from(bytes) })),
  fc.constant((c: FuzzCase) => ({ ...c, body: Buffer.concat([c.body, c.body]) })),
);

const HEADER_VALUES: Record<string, string[]> = {
  "content-type": [
    "application/grpc",
    "application/grpc-web-text+json",
    "application/json; charset=utf-8",
    "APPLICATION/GRPC",
    "application/connect+thrift",
    "text/plain",
    "",
    "application/grpc-web+proto; foo=bar",
  ],
  "grpc-timeout": ["1S", "0n", "99999999H", "soon", "1m", "100m", "10u"],
  "grpc-encoding": ["gzip", "identity", "br", "x"],
  "content-encoding": ["gzip", "identity", "deflate"],
  "connect-content-encoding": ["gzip", "zstd"],
  "connect-timeout-ms": ["0", "100", "abc", "99999999999"],
  "connect-protocol-version": ["1", "2", ""],
  "x-echo-fail": ["not_found", "unavailable", "internal", "bogus"],
  te: ["trailers", "gzip"],
  "grpc-accept-encoding": ["gzip", "identity"],
  "accept-encoding": ["gzip"],
};

const headerMutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc
    .constantFrom(...Object.keys(HEADER_VALUES))
    .chain((name) => fc.constantFrom(...HEADER_VALUES[name]!).map((value) => [name, value] as const))
    .map(([name, value]) => (c: FuzzCase) => ({ ...c, headers: { ...c.headers, [name]: value } })),
  fc.constantFrom("content-type", "te", "grpc-encoding", "connect-protocol-version").map((name) => (c: FuzzCase) => {
    const headers = { ...c.headers };
    delete headers[name];
    return { ...c, headers };
  }),
  fc.constantFrom("GET", "PUT", "DELETE", "OPTIONS", "POST").map((method) => (c: FuzzCase) => ({ ...c, method })),
  fc
    .constantFrom(
      "/",
      "/acme.echo.v1.EchoService/Nope",
      "/nope.v1.Nope/Call",
      "/acme.echo.v1.EchoService/Echo/extra",
      "/acme.echo.v1.EchoService/Echo?connect=v1",
      "/acme.echo.v1.EchoService/Echo?encoding=xml&message=%%%",
      "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
      "//",
    )
    .map((path) => (c: FuzzCase) => ({ ...c, path })),
);

/** A case: well-formed, then up to three mutations (none for about one case in five). */
export const fuzzCase: fc.Arbitrary<FuzzCase> = fc
  .tuple(base, fc.array(fc.oneof({ weight: 3, arbitrary: byteMutation }, headerMutation), { maxLength: 3 }))
  .map(([b, mutations]) => mutations.reduce((c, m) => m(c), wellFormed(b)));
